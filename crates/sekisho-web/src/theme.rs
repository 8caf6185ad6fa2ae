//! A brand's look (ISSUE-16): the colours the pages use, derived from the brand's one configured
//! colour so that every combination stays readable (WCAG 2.1 AA: 4.5:1 for text), and the brand
//! mark served as the favicon and, without a configured logo, beside the brand's name.
//!
//! Why derived: operators pick a brand colour for its look, not its contrast. A light colour
//! (a yellow, a sky blue) under white text fails AA, and as a link colour on white it fails too.
//! So the text on the colour is white or near-black, whichever reads better, and the accent
//! (links, focus rings, headings' rule) is the colour darkened until it reads on the page.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// The colours a page is drawn with, each a `#rrggbb` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    /// The brand's colour: the header's and the primary buttons' background.
    pub primary: String,
    /// Text on `primary`.
    pub on_primary: String,
    /// Links and accents on the page's light backgrounds.
    pub accent: String,
}

/// The page background the accent must read on (the lighter of the two: the card is white).
const PAGE_BACKGROUND: Rgb = Rgb(0xf3, 0xf5, 0xf8);
const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);
const DARK: Rgb = Rgb(0x11, 0x18, 0x27);
const BLACK: Rgb = Rgb(0, 0, 0);
/// WCAG 2.1 AA for normal text.
const AA: f64 = 4.5;
/// The colour used when the configured one cannot be read (it is validated at the CLI; an
/// edited database row could still hold anything).
const FALLBACK: Rgb = Rgb(0x1d, 0x4f, 0x91);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rgb(u8, u8, u8);

impl Rgb {
    /// `#rgb` or `#rrggbb`.
    fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix('#')?;
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |s: &str| u8::from_str_radix(s, 16).ok();
        match hex.len() {
            3 => {
                let d: Vec<u8> = hex
                    .chars()
                    .filter_map(|c| channel(&format!("{c}{c}")))
                    .collect();
                Some(Self(d[0], d[1], d[2]))
            }
            6 => Some(Self(
                channel(&hex[0..2])?,
                channel(&hex[2..4])?,
                channel(&hex[4..6])?,
            )),
            _ => None,
        }
    }

    fn css(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG relative luminance.
    fn luminance(self) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    /// This colour moved `t` (0‥1) of the way to black.
    fn darker(self, t: f64) -> Self {
        let f = |c: u8| (f64::from(c) * (1.0 - t)).round().clamp(0.0, 255.0) as u8;
        Self(f(self.0), f(self.1), f(self.2))
    }
}

fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

impl Palette {
    /// The palette of a brand colour (`#rgb` / `#rrggbb`; anything else gives the default's).
    pub fn of(primary: &str) -> Self {
        let primary = Rgb::parse(primary).unwrap_or(FALLBACK);
        // White, else the dark text colour; pure black when a mid-tone colour reads with
        // neither (one of white and black always reaches 4.58:1).
        let on_primary = [WHITE, DARK]
            .into_iter()
            .find(|c| contrast(primary, *c) >= AA)
            .unwrap_or(if contrast(primary, WHITE) >= contrast(primary, BLACK) {
                WHITE
            } else {
                BLACK
            });
        let mut accent = primary;
        let mut step = 0.0;
        while contrast(accent, PAGE_BACKGROUND) < AA && step < 1.0 {
            step += 0.05;
            accent = primary.darker(step);
        }
        Self {
            primary: primary.css(),
            on_primary: on_primary.css(),
            accent: accent.css(),
        }
    }
}

/// The brand mark: a rounded square in the brand colour with the name's first character.
pub fn mark_svg(brand_name: &str, palette: &Palette) -> String {
    let initial: String = brand_name
        .chars()
        .find(|c| !c.is_whitespace())
        .unwrap_or('S')
        .to_string();
    let initial = initial
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" role="img"><rect width="32" height="32" rx="7" fill="{bg}"/><text x="16" y="22.5" text-anchor="middle" font-family="'Noto Sans JP','Hiragino Kaku Gothic ProN',Meiryo,sans-serif" font-size="18" font-weight="700" fill="{fg}">{initial}</text></svg>"##,
        bg = palette.primary,
        fg = palette.on_primary,
    )
}

/// `GET /{brand}/favicon.svg`: the brand mark (also the header's logo when none is configured).
pub async fn favicon(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    match state.op.brand(&code).await {
        Ok(Some(brand)) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                // Brand colours change rarely; an hour keeps a change visible the same day.
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            mark_svg(&brand.name, &Palette::of(&brand.theme.primary_color)),
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "brand lookup for the favicon failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The pages' style sheet: one file for every brand (the brand's colours are CSS variables set
/// by the layout), so browsers cache it across pages and brands.
pub const STYLESHEET: &str = include_str!("../assets/style.css");

/// The style sheet's path, with the build's version so that an upgrade is fetched at once.
pub const STYLESHEET_PATH: &str = concat!("/assets/style.css?v=", env!("CARGO_PKG_VERSION"));

/// `GET /assets/style.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    // ISSUE-16: whatever colour a brand picks, its pages' text stays readable (WCAG AA 4.5:1):
    // white on dark colours, dark on light ones, and links darkened until they read.
    #[test]
    fn every_brand_colour_gives_readable_text_and_links() {
        for colour in [
            "#1d4f91", "#c8102e", "#ffd500", "#87ceeb", "#fff", "#000000", "#777777", "#00a040",
            "#ff6600",
        ] {
            let p = Palette::of(colour);
            let (primary, on, accent) = (
                Rgb::parse(&p.primary).unwrap(),
                Rgb::parse(&p.on_primary).unwrap(),
                Rgb::parse(&p.accent).unwrap(),
            );
            assert!(contrast(primary, on) >= AA, "{colour}: {p:?}");
            assert!(contrast(accent, WHITE) >= AA, "{colour}: {p:?}");
            assert!(contrast(accent, PAGE_BACKGROUND) >= AA, "{colour}: {p:?}");
        }
        // A colour that already reads is kept as it is.
        assert_eq!(Palette::of("#1d4f91").accent, "#1d4f91");
        assert_eq!(Palette::of("#1d4f91").on_primary, "#ffffff");
        assert_eq!(Palette::of("#ffd500").on_primary, "#111827");
        assert_eq!(Palette::of("#abc").primary, "#aabbcc");
        assert_eq!(Palette::of("red; x"), Palette::of("#1d4f91"));
    }

    #[test]
    fn the_mark_shows_the_brand_initial_escaped() {
        let p = Palette::of("#c8102e");
        let svg = mark_svg("どこでもBOX", &p);
        assert!(
            svg.contains(">ど</text>") && svg.contains("fill=\"#c8102e\""),
            "{svg}"
        );
        assert!(mark_svg("<x", &p).contains(">&lt;</text>"));
    }
}
