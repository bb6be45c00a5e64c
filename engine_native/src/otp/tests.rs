use proptest::prelude::*;

use super::*;

fn code(text: &str) -> Option<String> {
    extract(text).map(|otp| otp.code)
}

fn span(text: &str, otp: &Otp) -> String {
    text.chars()
        .skip(otp.start)
        .take(otp.end - otp.start)
        .collect()
}

#[test]
fn finds_codes_in_many_languages() {
    let cases = [
        (
            "Your verification code is 482913. It expires in 10 minutes.",
            "482913",
        ),
        ("G-345821 is your Google verification code.", "345821"),
        ("Your Instagram code is 318 502", "318502"),
        ("Tu código de verificación es 5521", "5521"),
        ("Ihr Bestätigungscode lautet: 774120", "774120"),
        ("Ваш код подтверждения: 8812", "8812"),
        ("您的验证码是 660143，5分钟内有效。", "660143"),
        ("認証コード：２８４９１７", "284917"),
        ("[Web발신] 인증번호 [493021]를 입력해주세요", "493021"),
        ("رمز التحقق الخاص بك هو ٤٨٢٩١٣", "482913"),
        ("รหัส OTP ของคุณคือ ๕๕๑๒๓๔ (Ref: ABCD)", "551234"),
        ("आपका ओटीपी 839201 है", "839201"),
        ("Your Steam code is VN6X8", "VN6X8"),
        (
            "<#> Your ExampleApp code is: 123ABC78 FA+9qCX9VSu",
            "123ABC78",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(code(text).as_deref(), Some(expected), "{text}");
    }
}

#[test]
fn ignores_numbers_that_are_not_codes() {
    let cases = [
        "Your order 48213 has shipped. Track it at https://ex.am/p/48213",
        "You paid $1234 at STORE on 12/05/2024 14:32.",
        "Call us on 0812345678 or 02-111-1111",
        "Balance: 2,345.67 THB",
        "Use promo code SAVE2024 for 20% off",
        "Meeting moved to 2024",
        "Your code expires in 1000 minutes",
        "Ref: 884201 for your complaint",
        "Hello, see you at 1830",
    ];
    for text in cases {
        assert_eq!(code(text), None, "{text}");
    }
}

#[test]
fn reference_next_to_code_is_skipped() {
    assert_eq!(code("OTP 006901 (Ref:4821)").as_deref(), Some("006901"));
    assert_eq!(
        code("Your OTP is 9964 (REF :9085)").as_deref(),
        Some("9964")
    );
    assert_eq!(
        code("รหัสอ้างอิง 4821 รหัส OTP 771203").as_deref(),
        Some("771203")
    );
}

#[test]
fn aosp_style_shapes() {
    for accepted in ["123G5", "1235", "123456F8", "123 456", "G-3d523"] {
        assert!(
            code(&format!("Your code is {accepted}")).is_some(),
            "{accepted}"
        );
    }
    for rejected in [
        "123G",
        "123",
        "123T56789",
        "12 345",
        "TEFHXES",
        "6--7893",
        "123码456",
        "01-01-2001",
        "1-1-01",
    ] {
        assert_eq!(
            code(&format!("Your code is {rejected}")),
            None,
            "{rejected}"
        );
    }
    assert_eq!(code("your code isG-345821"), None);
    assert_eq!(code("your code is4:G-345821"), None);
    assert_eq!(code("your code is:G-345821").as_deref(), Some("345821"));
}

#[test]
fn origin_bound_line_wins() {
    let text = "747723 is your ExampleCo authentication code.\n\n@example.com #747723 %pay.example";
    let otp = extract(text).expect("code");
    assert_eq!(otp.code, "747723");
    assert_eq!(otp.origin.as_deref(), Some("example.com"));
    assert_eq!(otp.embedded_origin.as_deref(), Some("pay.example"));
    assert_eq!(otp.confidence, 1.0);
    assert_eq!(span(text, &otp), "747723");
    assert!(otp.start > 40);
}

#[test]
fn spans_are_code_point_indices() {
    let text = "🙂 รหัสยืนยันของคุณคือ 318-502";
    let otp = extract(text).expect("code");
    assert_eq!(otp.code, "318502");
    assert_eq!(span(text, &otp), "318-502");
    let text = "Código: FB-１２３４５６";
    let otp = extract(text).expect("code");
    assert_eq!(otp.code, "123456");
    assert_eq!(span(text, &otp), "１２３４５６");
}

fn alnum_of_span(text: &str, otp: &Otp) -> String {
    span(text, otp)
        .chars()
        .filter_map(normalize::normalize_char)
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

proptest! {
    #[test]
    fn never_panics_and_spans_are_valid(text in "\\PC{0,200}") {
        if let Some(otp) = extract(&text) {
            prop_assert!(otp.start < otp.end);
            prop_assert!(otp.end <= text.chars().count());
            prop_assert!((0.0..=1.0).contains(&otp.confidence));
            if otp.origin.is_none() {
                prop_assert_eq!(alnum_of_span(&text, &otp), otp.code);
            }
        }
    }

    #[test]
    fn codes_in_noise_come_from_their_span(
        noise in "[ a-zA-Z0-9:.,/#<>@%()\\-๐-๙٠-٩０-９รหัสкодOTP]{0,60}",
        digits in "[0-9]{4,8}",
    ) {
        let text = format!("{noise} your code is {digits} {noise}");
        if let Some(otp) = extract(&text) {
            prop_assert!(otp.end <= text.chars().count());
            if otp.origin.is_none() {
                prop_assert_eq!(alnum_of_span(&text, &otp), otp.code);
            }
        }
    }
}
