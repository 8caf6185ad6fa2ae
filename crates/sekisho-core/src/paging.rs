//! Page numbers over a counted list (the admin console's tables, issue 16): which rows a page
//! shows, and which page links to offer.

/// One page of a list of `total` rows, `size` a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based, within `1..=pages`.
    pub page: i64,
    /// At least 1: an empty list has one, empty, page.
    pub pages: i64,
    pub total: i64,
    pub size: i64,
}

impl Paging {
    /// The page `requested` (any number: below 1 is the first, past the end the last).
    pub fn new(requested: i64, size: i64, total: i64) -> Self {
        let size = size.max(1);
        let total = total.max(0);
        let pages = ((total + size - 1) / size).max(1);
        Self {
            page: requested.clamp(1, pages),
            pages,
            total,
            size,
        }
    }

    /// The rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.size
    }

    /// The 1-based positions of the first and last rows shown ((0, 0) when there are none).
    pub fn shown(&self) -> (i64, i64) {
        if self.total == 0 {
            return (0, 0);
        }
        let first = self.offset() + 1;
        (first, (first + self.size - 1).min(self.total))
    }

    /// The pages to link, in order: the first, the last, and `radius` on each side of the current
    /// one; `None` where pages are left out (an ellipsis; a gap of one page shows that page).
    pub fn links(&self, radius: i64) -> Vec<Option<i64>> {
        let wanted = |p: i64| p == 1 || p == self.pages || (p - self.page).abs() <= radius;
        let mut out = Vec::new();
        let mut last_shown = 0;
        for p in (1..=self.pages).filter(|p| wanted(*p)) {
            match p - last_shown {
                1 => {}
                2 => out.push(Some(p - 1)),
                _ => out.push(None),
            }
            out.push(Some(p));
            last_shown = p;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Paging;

    #[test]
    fn pages_are_clamped_and_rows_counted() {
        let p = Paging::new(3, 50, 1234);
        assert_eq!(
            (p.page, p.pages, p.offset(), p.shown()),
            (3, 25, 100, (101, 150))
        );
        let last = Paging::new(99, 50, 1234);
        assert_eq!((last.page, last.shown()), (25, (1201, 1234)));
        let first = Paging::new(-5, 50, 1234);
        assert_eq!((first.page, first.offset()), (1, 0));
        let empty = Paging::new(2, 50, 0);
        assert_eq!((empty.page, empty.pages, empty.shown()), (1, 1, (0, 0)));
        assert_eq!(Paging::new(1, 50, 50).pages, 1);
        assert_eq!(Paging::new(1, 50, 51).pages, 2);
    }

    #[test]
    fn links_keep_the_ends_and_a_window() {
        let p = Paging::new(10, 50, 1000);
        assert_eq!(
            p.links(2),
            vec![
                Some(1),
                None,
                Some(8),
                Some(9),
                Some(10),
                Some(11),
                Some(12),
                None,
                Some(20)
            ]
        );
        assert_eq!(
            Paging::new(1, 50, 120).links(2),
            vec![Some(1), Some(2), Some(3)]
        );
        assert_eq!(
            Paging::new(5, 50, 400).links(1),
            vec![Some(1), None, Some(4), Some(5), Some(6), Some(7), Some(8)]
        );
        // An ellipsis never stands for a single page.
        assert_eq!(
            Paging::new(4, 50, 250).links(1),
            vec![Some(1), Some(2), Some(3), Some(4), Some(5)]
        );
    }
}
