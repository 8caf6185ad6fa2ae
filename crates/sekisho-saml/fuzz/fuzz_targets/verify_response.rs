//! `verify_response` on arbitrary input, seeded with a real response of the test IdP
//! (`fixtures/response.xml`, which verifies against `fixtures/idp-metadata.xml` at [`NOW`]).
//! A crash is a panic, or an input accepted with values other than the real response's: a
//! forgery.

#![no_main]

use std::sync::LazyLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use sekisho_core::TEST_EPOCH;
use sekisho_saml::{
    parse_idp_metadata, verify_response, Expected, IdpMetadata, SpEndpoints, SubjectSource,
    Verified,
};

/// The IdP's clock was at `TEST_EPOCH` when it made the fixture.
const NOW: i64 = TEST_EPOCH + 10;

struct Fixture {
    metadata: IdpMetadata,
    sp: SpEndpoints,
    request_id: String,
    subject: SubjectSource,
    verified: Verified,
}

impl Fixture {
    fn expected(&self) -> Expected<'_> {
        Expected {
            idp_entity_id: &self.metadata.entity_id,
            certs: &self.metadata.signing_certs,
            sp: &self.sp,
            request_id: &self.request_id,
            subject: &self.subject,
            now: NOW,
        }
    }
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let response = include_str!("../fixtures/response.xml");
    let metadata = parse_idp_metadata(
        include_str!("../fixtures/idp-metadata.xml"),
        TEST_EPOCH,
        true,
    )
    .expect("the fixture metadata reads");
    let marker = "InResponseTo=\"";
    let start = response.find(marker).expect("InResponseTo") + marker.len();
    let request_id = response[start..start + response[start..].find('"').expect("a quote")].into();
    let mut fixture = Fixture {
        metadata,
        sp: SpEndpoints {
            entity_id: "https://sekisho.test/saml/adfs-AbCdEfGh12345678".into(),
            acs_url: "https://sekisho.test/saml/adfs-AbCdEfGh12345678/acs".into(),
        },
        request_id,
        subject: SubjectSource::PersistentNameId,
        verified: Verified {
            assertion_id: String::new(),
            issuer: String::new(),
            subject: String::new(),
            email: None,
            upn: None,
            name: None,
            expires_at: 0,
        },
    };
    // Otherwise "never accepted with other values" would hold trivially.
    fixture.verified = verify_response(&STANDARD.encode(response), &fixture.expected())
        .expect("the fixture response verifies");
    fixture
});

fuzz_target!(|data: &[u8]| {
    let fixture = &*FIXTURE;
    let expected = fixture.expected();
    // As posted: the size limit, base64 and UTF-8 on any text.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(verified) = verify_response(text, &expected) {
            assert_eq!(verified, fixture.verified, "accepted with other values");
        }
    }
    // As the decoded document: the first XML reader, the shape checks, libxmlsec1 (samael) and
    // the checks of the signed assertion.
    if let Ok(verified) = verify_response(&STANDARD.encode(data), &expected) {
        assert_eq!(
            verified,
            fixture.verified,
            "accepted with other values: {}",
            String::from_utf8_lossy(data)
        );
    }
});
