//! Webhook signing and the carriers' signature primitives.
//!
//! Two jobs live here:
//!
//! * [Standard Webhooks] symmetric signatures, the scheme Septet signs its own
//!   webhooks with: HMAC-SHA256 over `{msg_id}.{timestamp}.{body}`, written as
//!   `v1,` + base64, several of them space-separated in one header so that a
//!   secret can be rotated without downtime.
//! * The building blocks the carriers' inbound signatures are made of: HMAC
//!   over SHA-1, SHA-256, SHA-512 or MD5 (Twilio, Plivo, Vonage, Bird), plain
//!   MD5 (Vonage's legacy `md5hash`), Ed25519 verification (Telnyx), and a
//!   constant-time comparison to check any of them with.
//!
//! Nothing here panics on any input, and no error carries key material: the
//! messages say what was wrong, never which bytes.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// The prefix of a Standard Webhooks symmetric secret in its text form.
pub const SECRET_PREFIX: &str = "whsec_";

/// The only signature version this module produces and checks (HMAC-SHA256).
pub const SIGNATURE_VERSION: &str = "v1";

/// Length in bytes of a `v1` signature (an HMAC-SHA256 output).
const V1_SIGNATURE_LEN: usize = 32;

/// Standard base64 that accepts the padding or its absence: secrets and
/// signatures are pasted around by hand, and both forms are in the wild.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What went wrong while signing or verifying.
///
/// The three families map one to one onto the Python exceptions
/// `MalformedSignatureError`, `SignatureMismatchError` and
/// `TimestampToleranceError`; see [`SigningError::kind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigningError {
    /// A header, secret, key or signature that cannot be parsed. The reason is
    /// a fixed sentence and never quotes the input.
    Malformed(&'static str),
    /// The input parsed, but no offered signature matches it.
    Mismatch,
    /// The signature matched, but the signed timestamp is `skew` seconds older
    /// than now, beyond `tolerance`.
    TimestampTooOld { skew: u64, tolerance: u64 },
    /// The signature matched, but the signed timestamp is `skew` seconds in
    /// the future, beyond `tolerance`.
    TimestampTooNew { skew: u64, tolerance: u64 },
}

/// The family of a [`SigningError`], one per Python exception class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningErrorKind {
    Malformed,
    Mismatch,
    OutOfTolerance,
}

impl SigningError {
    pub fn kind(&self) -> SigningErrorKind {
        match self {
            SigningError::Malformed(_) => SigningErrorKind::Malformed,
            SigningError::Mismatch => SigningErrorKind::Mismatch,
            SigningError::TimestampTooOld { .. } | SigningError::TimestampTooNew { .. } => {
                SigningErrorKind::OutOfTolerance
            }
        }
    }
}

impl fmt::Display for SigningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigningError::Malformed(reason) => f.write_str(reason),
            SigningError::Mismatch => f.write_str("no signature matches the payload"),
            SigningError::TimestampTooOld { skew, tolerance } => write!(
                f,
                "webhook timestamp is {skew} s in the past, beyond the tolerance of {tolerance} s"
            ),
            SigningError::TimestampTooNew { skew, tolerance } => write!(
                f,
                "webhook timestamp is {skew} s in the future, beyond the tolerance of {tolerance} s"
            ),
        }
    }
}

impl std::error::Error for SigningError {}

// ---------------------------------------------------------------------------
// Carrier primitives
// ---------------------------------------------------------------------------

/// The hash functions a carrier may put under HMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmacAlgorithm {
    Sha1,
    Sha256,
    Sha512,
    Md5,
}

impl HmacAlgorithm {
    /// The algorithm for a lower-case name: `sha1`, `sha256`, `sha512`, `md5`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            "md5" => Some(Self::Md5),
            _ => None,
        }
    }

    /// The lower-case name [`HmacAlgorithm::from_name`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
            Self::Md5 => "md5",
        }
    }

    /// Length in bytes of the MAC this algorithm produces.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
            Self::Md5 => 16,
        }
    }
}

/// Starts an HMAC over `$hash` keyed with `$key`.
///
/// HMAC takes keys of any length (RFC 2104 §2: long keys are hashed, short
/// ones padded), so `new_from_slice` cannot fail here; the `expect` documents
/// an impossibility rather than guarding an input.
macro_rules! hmac_of {
    ($hash:ty, $key:expr) => {
        <Hmac<$hash> as Mac>::new_from_slice($key).expect("HMAC accepts keys of any length")
    };
}

fn mac_bytes<M: Mac>(mut mac: M, data: &[u8]) -> Vec<u8> {
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// HMAC of `data` under `key` with the given hash function.
pub fn hmac_digest(algorithm: HmacAlgorithm, key: &[u8], data: &[u8]) -> Vec<u8> {
    match algorithm {
        HmacAlgorithm::Sha1 => mac_bytes(hmac_of!(Sha1, key), data),
        HmacAlgorithm::Sha256 => mac_bytes(hmac_of!(Sha256, key), data),
        HmacAlgorithm::Sha512 => mac_bytes(hmac_of!(Sha512, key), data),
        HmacAlgorithm::Md5 => mac_bytes(hmac_of!(Md5, key), data),
    }
}

/// The MD5 digest of `data` (Vonage's legacy `md5hash` signs with it).
pub fn md5_digest(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
///
/// Lengths are not secret (every signature of one scheme has the same), so a
/// length difference returns `false` at once.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Verifies an Ed25519 signature (RFC 8032) of `message` under `public_key`.
///
/// Returns `Ok(false)` when the signature does not match. A public key that is
/// not 32 bytes, not a curve point, or of small order, and a signature that is
/// not 64 bytes, are errors: they mean a misconfigured key or a broken header
/// rather than a forged request. Verification is strict: non-canonical
/// signatures are rejected, as libsodium (which Telnyx's SDK uses) does.
pub fn ed25519_verify(
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<bool, SigningError> {
    let key_bytes: [u8; 32] = public_key
        .try_into()
        .map_err(|_| SigningError::Malformed("an Ed25519 public key is 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| SigningError::Malformed("not a valid Ed25519 public key"))?;
    if key.is_weak() {
        return Err(SigningError::Malformed(
            "the Ed25519 public key is of small order",
        ));
    }
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| SigningError::Malformed("an Ed25519 signature is 64 bytes"))?;
    let signature = Signature::from_bytes(&signature);
    Ok(key.verify_strict(message, &signature).is_ok())
}

// ---------------------------------------------------------------------------
// Standard Webhooks
// ---------------------------------------------------------------------------

/// The key inside a Standard Webhooks secret: `whsec_` + base64.
///
/// The prefix is optional (some dashboards show the bare base64) and padding
/// may be left off; surrounding whitespace, as a secret read from a file
/// carries, is ignored. An empty key is refused.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, SigningError> {
    let secret = secret.trim();
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    // The decoder's own error names the offending byte, so it is dropped: it
    // would put part of the secret into a message.
    let key = BASE64_ANY_PADDING.decode(encoded).map_err(|_| {
        SigningError::Malformed("webhook secret is not 'whsec_' followed by base64")
    })?;
    if key.is_empty() {
        return Err(SigningError::Malformed("webhook secret is empty"));
    }
    Ok(key)
}

/// The text form of a key: `whsec_` + padded base64.
pub fn encode_secret(key: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// Refuses ids that would make the signed content ambiguous.
///
/// The signed content is `{id}.{timestamp}.{body}`: were `.` allowed in the
/// id, a signature for id `a`, timestamp `1`, body `2.x` would also be valid
/// for id `a.1`, timestamp `2`, body `x`. The spec forbids it, so both sides
/// check it.
fn check_msg_id(msg_id: &str) -> Result<(), SigningError> {
    if msg_id.is_empty() {
        return Err(SigningError::Malformed("webhook id is empty"));
    }
    if msg_id.contains('.') {
        return Err(SigningError::Malformed("webhook id must not contain '.'"));
    }
    Ok(())
}

/// Parses a `webhook-timestamp` header: Unix seconds as ASCII digits only.
///
/// No sign, no fraction, no whitespace: anything else would let two
/// different headers stand for one signed timestamp.
fn parse_timestamp(timestamp: &str) -> Result<i64, SigningError> {
    const BAD: SigningError =
        SigningError::Malformed("webhook timestamp is not a whole number of Unix seconds");
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD);
    }
    timestamp.parse::<i64>().map_err(|_| BAD)
}

fn v1_mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; V1_SIGNATURE_LEN] {
    let mut mac = hmac_of!(Sha256, key);
    // Fed piecewise so the body is never copied into a joined buffer.
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Signs a webhook: `v1,` + base64(HMAC-SHA256(key, `{msg_id}.{timestamp}.{body}`)).
///
/// Errors when `key` is empty, `msg_id` is empty or contains `.`, or
/// `timestamp` is negative: none of those could be verified.
pub fn webhook_sign(
    key: &[u8],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    if key.is_empty() {
        return Err(SigningError::Malformed("webhook secret is empty"));
    }
    check_msg_id(msg_id)?;
    if timestamp < 0 {
        return Err(SigningError::Malformed("webhook timestamp is negative"));
    }
    let mac = v1_mac(key, msg_id, timestamp, body);
    Ok(format!("{SIGNATURE_VERSION},{}", STANDARD.encode(mac)))
}

/// The `v1` signatures listed in a `webhook-signature` header.
///
/// Entries are space-separated `version,base64`. Entries of other versions
/// (`v1a` is the spec's Ed25519) are skipped, as the spec asks, so a sender
/// can add schemes without breaking verifiers. A `v1` entry whose payload is
/// not base64 of 32 bytes is kept as `None`: it is a wrong signature, not an
/// unreadable header, and must not stop another entry from matching.
fn parse_signature_header(
    header: &str,
) -> Result<Vec<Option<[u8; V1_SIGNATURE_LEN]>>, SigningError> {
    let mut v1 = Vec::new();
    let mut entries = 0usize;
    for entry in header.split(' ').filter(|entry| !entry.is_empty()) {
        entries += 1;
        let Some((version, payload)) = entry.split_once(',') else {
            return Err(SigningError::Malformed(
                "webhook signature entry is not 'version,signature'",
            ));
        };
        if version.is_empty() {
            return Err(SigningError::Malformed(
                "webhook signature entry has no version",
            ));
        }
        if version != SIGNATURE_VERSION {
            continue;
        }
        let decoded = BASE64_ANY_PADDING
            .decode(payload)
            .ok()
            .and_then(|bytes| <[u8; V1_SIGNATURE_LEN]>::try_from(bytes).ok());
        v1.push(decoded);
    }
    if entries == 0 {
        return Err(SigningError::Malformed("webhook signature header is empty"));
    }
    if v1.is_empty() {
        return Err(SigningError::Malformed(
            "webhook signature header has no v1 signature",
        ));
    }
    Ok(v1)
}

/// Verifies a Standard Webhooks request.
///
/// `keys` are every secret currently valid (one, or two while rotating);
/// `timestamp` and `signature_header` are the raw `webhook-timestamp` and
/// `webhook-signature` header values; `now` is the current Unix time and
/// `tolerance` the allowed clock difference in seconds either way.
///
/// The checks run in this order: parsing (→ [`SigningError::Malformed`]),
/// then the signatures, compared in constant time against every key
/// (→ [`SigningError::Mismatch`]), then the timestamp window
/// (→ [`SigningError::TimestampTooOld`] / [`SigningError::TimestampTooNew`]).
/// So a tolerance error always means an authentic but stale (replayed or
/// clock-skewed) request.
pub fn webhook_verify<K: AsRef<[u8]>>(
    keys: &[K],
    msg_id: &str,
    timestamp: &str,
    body: &[u8],
    signature_header: &str,
    now: i64,
    tolerance: u64,
) -> Result<(), SigningError> {
    if keys.is_empty() {
        return Err(SigningError::Malformed("no webhook secret given"));
    }
    if keys.iter().any(|key| key.as_ref().is_empty()) {
        return Err(SigningError::Malformed("webhook secret is empty"));
    }
    check_msg_id(msg_id)?;
    let signed_at = parse_timestamp(timestamp)?;
    let offered = parse_signature_header(signature_header)?;

    let mut matched = false;
    for key in keys {
        let expected = v1_mac(key.as_ref(), msg_id, signed_at, body);
        for signature in offered.iter().flatten() {
            // `|=` rather than an early return keeps the work the same
            // whichever entry matches.
            matched |= bool::from(signature[..].ct_eq(&expected[..]));
        }
    }
    if !matched {
        return Err(SigningError::Mismatch);
    }

    // i128 cannot overflow on the difference of two i64s.
    let skew = i128::from(now) - i128::from(signed_at);
    let tolerance_wide = i128::from(tolerance);
    let saturate = |value: i128| u64::try_from(value).unwrap_or(u64::MAX);
    if skew > tolerance_wide {
        return Err(SigningError::TimestampTooOld {
            skew: saturate(skew),
            tolerance,
        });
    }
    if -skew > tolerance_wide {
        return Err(SigningError::TimestampTooNew {
            skew: saturate(-skew),
            tolerance,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};
    use proptest::prelude::*;

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    // The Standard Webhooks spec's example (the Svix documentation example the
    // reference libraries test with), standard-webhooks/standard-webhooks
    // spec/standard-webhooks.md.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn spec_key() -> Vec<u8> {
        decode_secret(SPEC_SECRET).unwrap()
    }

    fn verify_one(
        key: &[u8],
        timestamp: &str,
        body: &[u8],
        header: &str,
    ) -> Result<(), SigningError> {
        webhook_verify(
            &[key],
            SPEC_ID,
            timestamp,
            body,
            header,
            SPEC_TIMESTAMP,
            300,
        )
    }

    #[test]
    fn spec_vector_signs_and_verifies() {
        let key = spec_key();
        assert_eq!(key.len(), 24);
        assert_eq!(
            webhook_sign(&key, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY).unwrap(),
            SPEC_SIGNATURE
        );
        assert_eq!(
            verify_one(&key, "1614265330", SPEC_BODY, SPEC_SIGNATURE),
            Ok(())
        );
    }

    #[test]
    fn secret_forms() {
        let key = spec_key();
        assert_eq!(
            decode_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
            key
        );
        assert_eq!(
            decode_secret(" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").unwrap(),
            key
        );
        assert_eq!(encode_secret(&key), SPEC_SECRET);
        // Unpadded and padded base64 both decode.
        assert_eq!(decode_secret("whsec_AAE").unwrap(), vec![0, 1]);
        assert_eq!(decode_secret("whsec_AAE=").unwrap(), vec![0, 1]);
        for bad in ["", "whsec_", "whsec_!!!!", "whsec_A", "whsec_AA==AA"] {
            let error = decode_secret(bad).unwrap_err();
            assert_eq!(error.kind(), SigningErrorKind::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn secret_errors_do_not_quote_the_secret() {
        let error = decode_secret("whsec_s3cr3t-with-a-dash").unwrap_err();
        let message = error.to_string();
        assert!(!message.contains("s3cr3t"), "{message}");
        assert!(!message.contains('-'), "{message}");
    }

    #[test]
    fn sign_refuses_unverifiable_input() {
        let key = spec_key();
        assert!(webhook_sign(&key, "", 1, b"").is_err());
        assert!(webhook_sign(&key, "msg.1", 1, b"").is_err());
        assert!(webhook_sign(&key, "msg", -1, b"").is_err());
        assert!(webhook_sign(&[], "msg", 1, b"").is_err());
        assert!(webhook_sign(&key, "msg", 0, b"").is_ok());
    }

    #[test]
    fn tampering_is_a_mismatch() {
        let key = spec_key();
        let body_changed = verify_one(
            &key,
            "1614265330",
            br#"{"test": 2432232315}"#,
            SPEC_SIGNATURE,
        );
        assert_eq!(body_changed, Err(SigningError::Mismatch));
        let timestamp_changed = verify_one(&key, "1614265331", SPEC_BODY, SPEC_SIGNATURE);
        assert_eq!(timestamp_changed, Err(SigningError::Mismatch));
        let id_changed = webhook_verify(
            &[&key],
            "msg_p5jXN8AQM9LWM0D4loKWxJel",
            "1614265330",
            SPEC_BODY,
            SPEC_SIGNATURE,
            SPEC_TIMESTAMP,
            300,
        );
        assert_eq!(id_changed, Err(SigningError::Mismatch));
        let mut other_key = key.clone();
        other_key[0] ^= 1;
        let key_changed = verify_one(&other_key, "1614265330", SPEC_BODY, SPEC_SIGNATURE);
        assert_eq!(key_changed, Err(SigningError::Mismatch));
    }

    #[test]
    fn dotted_id_is_refused_on_verify() {
        // id "msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330" with timestamp "1" would
        // otherwise need a body starting with "1." to collide; refused outright.
        let key = spec_key();
        let result = webhook_verify(
            &[&key],
            "a.b",
            "1614265330",
            SPEC_BODY,
            SPEC_SIGNATURE,
            SPEC_TIMESTAMP,
            300,
        );
        assert_eq!(result.unwrap_err().kind(), SigningErrorKind::Malformed);
    }

    #[test]
    fn timestamp_must_be_plain_digits() {
        let key = spec_key();
        for bad in [
            "",
            "-1614265330",
            "+1614265330",
            "1614265330.0",
            " 1614265330",
            "1614265330 ",
            "1_614_265_330",
            "99999999999999999999",
            "１６１４２６５３３０",
        ] {
            let result = verify_one(&key, bad, SPEC_BODY, SPEC_SIGNATURE);
            assert_eq!(
                result.unwrap_err().kind(),
                SigningErrorKind::Malformed,
                "{bad:?}"
            );
        }
        // Leading zeros denote the same number, which is what gets signed.
        assert_eq!(
            verify_one(&key, "01614265330", SPEC_BODY, SPEC_SIGNATURE),
            Ok(())
        );
    }

    #[test]
    fn rotation_any_key_any_signature() {
        let old = spec_key();
        let new = b"a brand new webhook secret".to_vec();
        let old_sig = webhook_sign(&old, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY).unwrap();
        let new_sig = webhook_sign(&new, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY).unwrap();
        let both = format!("{new_sig} {old_sig}");
        for keys in [
            vec![old.clone()],
            vec![new.clone()],
            vec![new.clone(), old.clone()],
        ] {
            let result = webhook_verify(
                &keys,
                SPEC_ID,
                "1614265330",
                SPEC_BODY,
                &both,
                SPEC_TIMESTAMP,
                300,
            );
            assert_eq!(result, Ok(()));
        }
        // A receiver holding both keys accepts a sender still on the old one.
        let result = webhook_verify(
            &[new.as_slice(), old.as_slice()],
            SPEC_ID,
            "1614265330",
            SPEC_BODY,
            &old_sig,
            SPEC_TIMESTAMP,
            300,
        );
        assert_eq!(result, Ok(()));
        let stranger = b"someone else".to_vec();
        let result = webhook_verify(
            &[stranger],
            SPEC_ID,
            "1614265330",
            SPEC_BODY,
            &both,
            SPEC_TIMESTAMP,
            300,
        );
        assert_eq!(result, Err(SigningError::Mismatch));
    }

    #[test]
    fn header_parsing() {
        let key = spec_key();
        // Other versions are skipped; extra spaces are tolerated.
        let header = format!("v1a,AAAA  v2,whatever {SPEC_SIGNATURE} ");
        assert_eq!(verify_one(&key, "1614265330", SPEC_BODY, &header), Ok(()));
        // A broken v1 entry does not hide a good one.
        let header = format!("v1,not-base64! v1,AAAA {SPEC_SIGNATURE}");
        assert_eq!(verify_one(&key, "1614265330", SPEC_BODY, &header), Ok(()));
        // Unpadded base64 of the right signature also matches.
        let unpadded = SPEC_SIGNATURE.trim_end_matches('=');
        assert_eq!(verify_one(&key, "1614265330", SPEC_BODY, unpadded), Ok(()));
        // A v1 entry that is not a 32-byte base64 value is simply wrong.
        for wrong in [
            "v1,",
            "v1,AAAA",
            "v1,!!!!",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=AAAA",
        ] {
            assert_eq!(
                verify_one(&key, "1614265330", SPEC_BODY, wrong),
                Err(SigningError::Mismatch),
                "{wrong:?}"
            );
        }
        for malformed in [
            "",
            "   ",
            "v1",
            ",abc",
            "v1a,AAAA",
            "v2,abc v1a,def",
            "garbage",
        ] {
            let result = verify_one(&key, "1614265330", SPEC_BODY, malformed);
            assert_eq!(
                result.unwrap_err().kind(),
                SigningErrorKind::Malformed,
                "{malformed:?}"
            );
        }
    }

    #[test]
    fn tolerance_both_ways() {
        let key = spec_key();
        let check = |now: i64, tolerance: u64| {
            webhook_verify(
                &[&key],
                SPEC_ID,
                "1614265330",
                SPEC_BODY,
                SPEC_SIGNATURE,
                now,
                tolerance,
            )
        };
        assert_eq!(check(SPEC_TIMESTAMP + 300, 300), Ok(()));
        assert_eq!(check(SPEC_TIMESTAMP - 300, 300), Ok(()));
        assert_eq!(
            check(SPEC_TIMESTAMP + 301, 300),
            Err(SigningError::TimestampTooOld {
                skew: 301,
                tolerance: 300
            })
        );
        assert_eq!(
            check(SPEC_TIMESTAMP - 301, 300),
            Err(SigningError::TimestampTooNew {
                skew: 301,
                tolerance: 300
            })
        );
        assert_eq!(check(SPEC_TIMESTAMP, 0), Ok(()));
        assert_eq!(
            check(SPEC_TIMESTAMP + 1, 0).unwrap_err().kind(),
            SigningErrorKind::OutOfTolerance
        );
        // Extreme clocks neither overflow nor panic.
        assert_eq!(check(i64::MIN, u64::MAX), Ok(()));
        assert!(matches!(
            check(i64::MIN, 0),
            Err(SigningError::TimestampTooNew { .. })
        ));
        assert!(matches!(
            check(i64::MAX, 0),
            Err(SigningError::TimestampTooOld { .. })
        ));
        // A forged signature is reported as such, even when also stale.
        let forged = verify_one(&key, "1614265330", b"forged", SPEC_SIGNATURE);
        assert_eq!(forged, Err(SigningError::Mismatch));
    }

    #[test]
    fn no_keys_or_empty_key_is_malformed() {
        let none: [&[u8]; 0] = [];
        let result = webhook_verify(
            &none,
            SPEC_ID,
            "1614265330",
            SPEC_BODY,
            SPEC_SIGNATURE,
            SPEC_TIMESTAMP,
            300,
        );
        assert_eq!(result.unwrap_err().kind(), SigningErrorKind::Malformed);
        let result = verify_one(&[], "1614265330", SPEC_BODY, SPEC_SIGNATURE);
        assert_eq!(result.unwrap_err().kind(), SigningErrorKind::Malformed);
    }

    // RFC 2202 (MD5, SHA-1) and RFC 4231 (SHA-2) test case 2: key "Jefe".
    #[test]
    fn hmac_published_vectors() {
        let key = b"Jefe";
        let data = b"what do ya want for nothing?";
        let cases = [
            (HmacAlgorithm::Md5, "750c783e6ab0b503eaa86e310a5db738"),
            (HmacAlgorithm::Sha1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
            (
                HmacAlgorithm::Sha256,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                HmacAlgorithm::Sha512,
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            ),
        ];
        for (algorithm, expected) in cases {
            let mac = hmac_digest(algorithm, key, data);
            assert_eq!(hex(&mac), expected, "{}", algorithm.name());
            assert_eq!(mac.len(), algorithm.output_len());
            assert_eq!(HmacAlgorithm::from_name(algorithm.name()), Some(algorithm));
        }
        assert_eq!(HmacAlgorithm::from_name("SHA256"), None);
        assert_eq!(HmacAlgorithm::from_name("sha384"), None);
    }

    #[test]
    fn hmac_takes_any_key_length() {
        for length in [0usize, 1, 63, 64, 65, 127, 128, 129, 1000] {
            let key = vec![0x5a; length];
            for algorithm in [
                HmacAlgorithm::Md5,
                HmacAlgorithm::Sha1,
                HmacAlgorithm::Sha256,
                HmacAlgorithm::Sha512,
            ] {
                assert_eq!(
                    hmac_digest(algorithm, &key, b"x").len(),
                    algorithm.output_len()
                );
            }
        }
    }

    // RFC 1321 appendix A.5.
    #[test]
    fn md5_published_vectors() {
        assert_eq!(hex(&md5_digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(&md5_digest(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn constant_time_eq_semantics() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    // RFC 8032 section 7.1, TEST 1, 2 and 3: (secret key, public key, message, signature).
    const RFC8032: [(&str, &str, &str, &str); 3] = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];

    #[test]
    fn ed25519_rfc8032_vectors() {
        for (secret, public, message, signature) in RFC8032 {
            let (public, message, signature) = (unhex(public), unhex(message), unhex(signature));
            // The vector is self-consistent under the library's signer too.
            let signing = SigningKey::from_bytes(&unhex(secret).try_into().unwrap());
            assert_eq!(signing.verifying_key().to_bytes().to_vec(), public);
            assert_eq!(signing.sign(&message).to_bytes().to_vec(), signature);

            assert_eq!(ed25519_verify(&public, &message, &signature), Ok(true));
            let mut tampered_message = message.clone();
            tampered_message.push(0);
            assert_eq!(
                ed25519_verify(&public, &tampered_message, &signature),
                Ok(false)
            );
            let mut tampered_signature = signature.clone();
            tampered_signature[0] ^= 1;
            assert_eq!(
                ed25519_verify(&public, &message, &tampered_signature),
                Ok(false)
            );
        }
    }

    #[test]
    fn ed25519_malformed_inputs_are_errors() {
        let (_, public, message, signature) = RFC8032[1];
        let (public, message, signature) = (unhex(public), unhex(message), unhex(signature));
        let malformed =
            |result: Result<bool, SigningError>| matches!(result, Err(SigningError::Malformed(_)));
        assert!(malformed(ed25519_verify(
            &public[..31],
            &message,
            &signature
        )));
        assert!(malformed(ed25519_verify(&[], &message, &signature)));
        assert!(malformed(ed25519_verify(
            &public,
            &message,
            &signature[..63]
        )));
        assert!(malformed(ed25519_verify(&public, &message, &[])));
        // The identity point has small order: refused as a key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(malformed(ed25519_verify(&identity, &message, &signature)));
        // y = 2 is not on the curve (no x satisfies the equation).
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert!(malformed(ed25519_verify(&off_curve, &message, &signature)));
    }

    proptest! {
        #[test]
        fn sign_verify_round_trip(
            key in proptest::collection::vec(any::<u8>(), 1..80),
            msg_id in "[A-Za-z0-9_-]{1,40}",
            timestamp in 0i64..4_000_000_000,
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let signature = webhook_sign(&key, &msg_id, timestamp, &body).unwrap();
            prop_assert!(signature.starts_with("v1,"));
            let result = webhook_verify(
                &[&key], &msg_id, &timestamp.to_string(), &body, &signature, timestamp, 0,
            );
            prop_assert_eq!(result, Ok(()));
        }

        #[test]
        fn arbitrary_headers_never_panic(
            header in ".{0,200}",
            msg_id in ".{0,40}",
            timestamp in ".{0,25}",
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let _ = webhook_verify(&[b"key"], &msg_id, &timestamp, &body, &header, 0, 300);
        }

        #[test]
        fn arbitrary_secrets_never_panic(secret in ".{0,100}") {
            let _ = decode_secret(&secret);
        }

        #[test]
        fn arbitrary_ed25519_inputs_never_panic(
            key in proptest::collection::vec(any::<u8>(), 0..40),
            signature in proptest::collection::vec(any::<u8>(), 0..70),
        ) {
            let _ = ed25519_verify(&key, b"message", &signature);
        }
    }
}
