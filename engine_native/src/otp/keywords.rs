//! Context words: what makes a number a one-time code, and what makes it
//! something else (an order number, an amount, a phone number...).
//!
//! All words are searched in one pass with an Aho-Corasick automaton over the
//! folded text (lower case, Thai marks dropped). Where a longer phrase and a
//! shorter one start at the same place the longer wins, so `รหัสอ้างอิง`
//! (reference code) is a reference label and not the bare `รหัส` (code),
//! and `promo code` is not `code`.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::normalize::{fold_str, Normalized};

/// What a matched word says about the numbers near it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Unambiguous: OTP, verification code, 验证码, รหัสยืนยัน...
    Strong,
    /// Generic: code, password, PIN, รหัส, код... Ignored in commercial text.
    Weak,
    /// "enter", "use": counts only right before the code.
    Enter,
    /// A label whose value is not a code: reference, order, tracking, phone...
    Negative,
    /// A label that usually, not always, introduces something else: account, ID.
    SoftNegative,
    /// Marketing words; they make generic code words ambiguous.
    Promo,
    /// A currency; a number next to it is an amount.
    Currency,
    /// A unit; a number followed by it is a quantity (minutes, GB, points...).
    Unit,
}

/// Which neighbours must not be letters of the same script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    None,
    Left,
    Both,
}

use Bound::{Both, Left, None as Free};
use Kind::*;

/// (word, kind, boundary rule, case-sensitive). Words are folded when the
/// automaton is built, so they are written naturally here.
#[rustfmt::skip]
const WORDS: &[(&str, Kind, Bound, bool)] = &[
    // --- English ---
    ("otp", Strong, Free, false), ("one-time", Strong, Both, false), ("one time", Strong, Both, false),
    ("onetime", Strong, Both, false), ("verification", Strong, Left, false), ("verify", Strong, Left, false),
    ("verifying", Strong, Left, false), ("security code", Strong, Both, false),
    ("confirmation code", Strong, Both, false), ("authentication", Strong, Left, false),
    ("authenticate", Strong, Left, false), ("auth code", Strong, Both, false), ("login", Strong, Free, false),
    ("log in", Strong, Both, false), ("log-in", Strong, Both, false), ("sign in", Strong, Both, false),
    ("sign-in", Strong, Both, false), ("signin", Strong, Both, false), ("access code", Strong, Both, false),
    ("activation code", Strong, Both, false), ("passcode", Strong, Left, false), ("2fa", Strong, Both, false),
    ("two-factor", Strong, Both, false), ("two factor", Strong, Both, false), ("2-step", Strong, Both, false),
    ("two-step", Strong, Both, false), ("tokencode", Strong, Both, false), ("single-use", Strong, Both, false),
    ("single use", Strong, Both, false), ("security pin", Strong, Both, false),
    ("temporary password", Strong, Both, false), ("approval code", Strong, Both, false),
    ("code", Weak, Both, false), ("codes", Weak, Both, false), ("pin", Weak, Both, false),
    ("password", Weak, Both, false), ("TAN", Weak, Both, true), ("token", Weak, Both, false),
    ("enter", Enter, Both, false), ("use", Enter, Both, false), ("input", Enter, Both, false),
    ("type", Enter, Both, false),
    ("ref", Negative, Left, false), ("ref.", Negative, Left, false), ("reference", Negative, Both, false),
    ("ref code", Negative, Both, false), ("ref. code", Negative, Both, false), ("reference code", Negative, Both, false),
    ("order", Negative, Both, false), ("order no", Negative, Both, false), ("order number", Negative, Both, false),
    ("tracking", Negative, Both, false), ("tracking code", Negative, Both, false), ("awb", Negative, Both, false),
    ("invoice", Negative, Both, false), ("booking", Negative, Both, false), ("ticket", Negative, Both, false),
    ("transaction", Negative, Both, false), ("txn", Negative, Both, false), ("customer", Negative, Both, false),
    ("member", Negative, Both, false), ("call", Negative, Both, false), ("phone", Negative, Both, false),
    ("tel", Negative, Both, false), ("tel.", Negative, Both, false), ("mobile", Negative, Both, false),
    ("contact", Negative, Both, false), ("whatsapp", Negative, Both, false), ("hotline", Negative, Both, false),
    ("dial", Negative, Both, false), ("send", Negative, Both, false), ("text", Negative, Both, false),
    ("reply", Negative, Both, false), ("sms to", Negative, Both, false), ("area code", Negative, Both, false), ("postal code", Negative, Both, false),
    ("zip code", Negative, Both, false), ("promo code", Negative, Both, false), ("coupon code", Negative, Both, false),
    ("discount code", Negative, Both, false), ("voucher code", Negative, Both, false),
    ("referral code", Negative, Both, false), ("gift code", Negative, Both, false), ("redeem code", Negative, Both, false),
    ("new password", Negative, Both, false), ("ending", Negative, Both, false), ("ending in", Negative, Both, false),
    ("card", Negative, Both, false), ("flight", Negative, Both, false), ("parcel", Negative, Both, false),
    ("package", Negative, Both, false), ("shipment", Negative, Both, false), ("serial", Negative, Both, false),
    ("balance", Negative, Both, false), ("amount", Negative, Both, false), ("total", Negative, Both, false),
    ("check-in code", Negative, Both, false), ("booking code", Negative, Both, false),
    ("room", Negative, Both, false), ("seat", Negative, Both, false), ("policy", Negative, Both, false),
    ("claim", Negative, Both, false), ("case", Negative, Both, false), ("pnr", Negative, Both, false),
    ("account", SoftNegative, Both, false), ("a/c", SoftNegative, Both, false), ("acct", SoftNegative, Both, false),
    ("id", SoftNegative, Both, false), ("no.", SoftNegative, Both, false),
    ("promo", Promo, Both, false), ("promotion", Promo, Both, false), ("discount", Promo, Both, false),
    ("coupon", Promo, Both, false), ("voucher", Promo, Both, false), ("% off", Promo, Free, false),
    ("sale", Promo, Both, false), ("cashback", Promo, Both, false), ("referral", Promo, Both, false),
    ("usd", Currency, Both, false), ("eur", Currency, Both, false), ("gbp", Currency, Both, false),
    ("thb", Currency, Both, false), ("bht", Currency, Both, false), ("baht", Currency, Both, false),
    ("rs", Currency, Both, false), ("rs.", Currency, Both, false), ("inr", Currency, Both, false),
    ("rp", Currency, Both, false), ("idr", Currency, Both, false), ("rm", Currency, Both, false),
    ("myr", Currency, Both, false), ("php", Currency, Both, false), ("vnd", Currency, Both, false),
    ("aed", Currency, Both, false), ("sar", Currency, Both, false), ("egp", Currency, Both, false),
    ("brl", Currency, Both, false), ("mxn", Currency, Both, false), ("pln", Currency, Both, false),
    ("try", Currency, Both, false), ("tl", Currency, Both, false), ("rub", Currency, Both, false),
    ("uah", Currency, Both, false), ("cny", Currency, Both, false), ("rmb", Currency, Both, false),
    ("jpy", Currency, Both, false), ("krw", Currency, Both, false), ("chf", Currency, Both, false),
    ("cad", Currency, Both, false), ("aud", Currency, Both, false), ("ngn", Currency, Both, false),
    ("kes", Currency, Both, false), ("zar", Currency, Both, false), ("dollars", Currency, Both, false),
    ("euros", Currency, Both, false), ("r$", Currency, Both, false),
    ("min", Unit, Both, false), ("mins", Unit, Both, false), ("minute", Unit, Both, false),
    ("minutes", Unit, Both, false), ("sec", Unit, Both, false), ("seconds", Unit, Both, false),
    ("hours", Unit, Both, false), ("hrs", Unit, Both, false), ("days", Unit, Both, false),
    ("points", Unit, Both, false), ("pts", Unit, Both, false), ("gb", Unit, Both, false),
    ("mb", Unit, Both, false), ("kb", Unit, Both, false), ("km", Unit, Both, false), ("kg", Unit, Both, false),
    ("miles", Unit, Both, false), ("coins", Unit, Both, false), ("sms", Unit, Both, false),
    // --- Spanish / Portuguese ---
    ("código", Weak, Both, false), ("codigo", Weak, Both, false), ("clave", Weak, Both, false),
    ("contraseña", Weak, Both, false), ("senha", Weak, Both, false),
    ("código de verificación", Strong, Both, false), ("código de seguridad", Strong, Both, false),
    ("código de confirmación", Strong, Both, false), ("código de acceso", Strong, Both, false),
    ("verificación", Strong, Left, false), ("verificar", Strong, Left, false), ("verifica", Strong, Left, false),
    ("código de verificação", Strong, Both, false), ("código de segurança", Strong, Both, false),
    ("código de confirmação", Strong, Both, false), ("código de acesso", Strong, Both, false),
    ("verificação", Strong, Left, false), ("autenticação", Strong, Left, false), ("autenticación", Strong, Left, false),
    ("clave dinámica", Strong, Both, false), ("un solo uso", Strong, Both, false), ("uso único", Strong, Both, false),
    ("ingresa", Enter, Both, false), ("ingrese", Enter, Both, false), ("introduce", Enter, Both, false),
    ("digite", Enter, Both, false), ("insira", Enter, Both, false), ("usa", Enter, Both, false),
    ("pedido", Negative, Both, false), ("referencia", Negative, Both, false), ("referência", Negative, Both, false),
    ("seguimiento", Negative, Both, false), ("rastreio", Negative, Both, false), ("rastreamento", Negative, Both, false),
    ("saldo", Negative, Both, false), ("importe", Negative, Both, false), ("valor", Negative, Both, false),
    ("factura", Negative, Both, false), ("fatura", Negative, Both, false), ("boleto", Negative, Both, false),
    ("protocolo", Negative, Both, false), ("teléfono", Negative, Both, false), ("telefone", Negative, Both, false),
    ("llame", Negative, Both, false), ("ligue", Negative, Both, false), ("cuenta", SoftNegative, Both, false),
    ("conta", SoftNegative, Both, false), ("cupón", Promo, Both, false), ("cupom", Promo, Both, false),
    ("descuento", Promo, Both, false), ("desconto", Promo, Both, false), ("promoción", Promo, Both, false),
    ("minutos", Unit, Both, false), ("reais", Currency, Both, false), ("pesos", Currency, Both, false),
    // --- French ---
    ("code de vérification", Strong, Both, false), ("code de confirmation", Strong, Both, false),
    ("code de sécurité", Strong, Both, false), ("code d'accès", Strong, Both, false),
    ("code à usage unique", Strong, Both, false), ("vérification", Strong, Left, false),
    ("mot de passe", Weak, Both, false), ("saisissez", Enter, Both, false), ("entrez", Enter, Both, false),
    ("utilisez", Enter, Both, false), ("commande", Negative, Both, false), ("suivi", Negative, Both, false),
    ("colis", Negative, Both, false), ("référence", Negative, Both, false), ("réf", Negative, Both, false),
    ("solde", Negative, Both, false), ("montant", Negative, Both, false), ("facture", Negative, Both, false),
    ("appelez", Negative, Both, false), ("compte", SoftNegative, Both, false), ("réduction", Promo, Both, false),
    ("code promo", Negative, Both, false),
    // --- German / Dutch ---
    ("bestätigungscode", Strong, Left, false), ("sicherheitscode", Strong, Left, false),
    ("verifizierungscode", Strong, Left, false), ("einmalpasswort", Strong, Left, false),
    ("einmalcode", Strong, Left, false), ("anmeldecode", Strong, Left, false), ("zugangscode", Strong, Left, false),
    ("freigabecode", Strong, Left, false), ("prüfcode", Strong, Left, false), ("mtan", Strong, Both, false),
    ("smstan", Strong, Both, false), ("sms-tan", Strong, Both, false), ("bestätigung", Strong, Left, false),
    ("passwort", Weak, Both, false), ("kennwort", Weak, Both, false), ("geben sie", Enter, Both, false),
    ("bestellung", Negative, Both, false), ("bestellnummer", Negative, Both, false),
    ("sendungsnummer", Negative, Both, false), ("sendung", Negative, Both, false),
    ("kundennummer", Negative, Both, false), ("betrag", Negative, Both, false), ("rechnung", Negative, Both, false),
    ("referenz", Negative, Both, false), ("paket", Negative, Both, false), ("konto", SoftNegative, Both, false),
    ("gutschein", Promo, Both, false), ("rabatt", Promo, Both, false), ("minuten", Unit, Both, false),
    ("verificatiecode", Strong, Left, false), ("beveiligingscode", Strong, Left, false),
    ("bevestigingscode", Strong, Left, false), ("inlogcode", Strong, Left, false),
    ("toegangscode", Strong, Left, false), ("eenmalige", Strong, Both, false), ("wachtwoord", Weak, Both, false),
    ("bestelling", Negative, Both, false), ("bestelnummer", Negative, Both, false), ("pakket", Negative, Both, false),
    ("bedrag", Negative, Both, false), ("factuur", Negative, Both, false), ("kenmerk", Negative, Both, false),
    ("rekening", SoftNegative, Both, false), ("korting", Promo, Both, false), ("minuten.", Unit, Both, false),
    // --- Italian ---
    ("codice", Weak, Both, false), ("codice di verifica", Strong, Both, false),
    ("codice di sicurezza", Strong, Both, false), ("codice di conferma", Strong, Both, false),
    ("codice di accesso", Strong, Both, false), ("inserisci", Enter, Both, false), ("ordine", Negative, Both, false),
    ("spedizione", Negative, Both, false), ("importo", Negative, Both, false), ("fattura", Negative, Both, false),
    ("riferimento", Negative, Both, false), ("pacco", Negative, Both, false), ("chiama", Negative, Both, false),
    ("conto", SoftNegative, Both, false), ("sconto", Promo, Both, false), ("minuti", Unit, Both, false),
    // --- Polish / Turkish ---
    ("kod", Weak, Both, false), ("hasło", Weak, Both, false), ("kod weryfikacyjny", Strong, Both, false),
    ("kod autoryzacyjny", Strong, Both, false), ("kod jednorazowy", Strong, Both, false),
    ("kod sms", Strong, Both, false), ("weryfikac", Strong, Left, false), ("zamówienie", Negative, Both, false),
    ("zamówienia", Negative, Both, false), ("przesyłka", Negative, Both, false), ("przesyłki", Negative, Both, false),
    ("kwota", Negative, Both, false), ("faktura", Negative, Both, false), ("zadzwoń", Negative, Both, false),
    ("rabat", Promo, Both, false), ("zł", Currency, Both, false), ("zl", Currency, Both, false),
    ("kodu", Weak, Both, false), ("kodunuz", Weak, Both, false), ("şifre", Weak, Both, false),
    ("şifreniz", Weak, Both, false), ("doğrulama", Strong, Both, false), ("onay kodu", Strong, Both, false),
    ("güvenlik kodu", Strong, Both, false), ("tek kullanımlık", Strong, Both, false),
    ("sipariş", Negative, Both, false), ("kargo", Negative, Both, false), ("takip", Negative, Both, false),
    ("bakiye", Negative, Both, false), ("tutar", Negative, Both, false), ("fatura no", Negative, Both, false),
    ("referans", Negative, Both, false), ("arayın", Negative, Both, false), ("hesap", SoftNegative, Both, false),
    ("indirim", Promo, Both, false), ("dakika", Unit, Both, false),
    // --- Russian / Ukrainian ---
    ("код", Weak, Both, false), ("пароль", Weak, Both, false), ("код подтверждения", Strong, Both, false),
    ("проверочный код", Strong, Both, false), ("код доступа", Strong, Both, false),
    ("одноразов", Strong, Left, false), ("подтвержд", Strong, Left, false), ("верификац", Strong, Left, false),
    ("введите", Enter, Both, false), ("код підтвердження", Strong, Both, false),
    ("підтвердж", Strong, Left, false), ("одноразовий", Strong, Both, false), ("введіть", Enter, Both, false),
    ("заказ", Negative, Left, false), ("трек", Negative, Left, false), ("посылк", Negative, Left, false),
    ("баланс", Negative, Both, false), ("сумма", Negative, Both, false), ("договор", Negative, Left, false),
    ("промокод", Negative, Left, false), ("тел", Negative, Both, false), ("звоните", Negative, Both, false),
    ("замовлення", Negative, Both, false), ("сума", Negative, Both, false), ("посилк", Negative, Left, false),
    ("відправлення", Negative, Both, false), ("счет", SoftNegative, Both, false), ("счёт", SoftNegative, Both, false),
    ("рахунок", SoftNegative, Both, false), ("скидк", Promo, Left, false), ("знижк", Promo, Left, false),
    ("руб", Currency, Left, false), ("грн", Currency, Both, false), ("мин", Unit, Left, false),
    ("хв", Unit, Both, false),
    // --- Arabic / Persian ---
    ("رمز", Weak, Free, false), ("كود", Weak, Free, false), ("كلمة المرور", Weak, Free, false),
    ("كلمة السر", Weak, Free, false), ("رمز التحقق", Strong, Free, false), ("كود التحقق", Strong, Free, false),
    ("التحقق", Strong, Free, false), ("رمز التفعيل", Strong, Free, false), ("رمز الدخول", Strong, Free, false),
    ("رمز التأكيد", Strong, Free, false), ("لمرة واحدة", Strong, Free, false), ("أدخل", Enter, Free, false),
    ("الطلب", Negative, Free, false), ("طلبك", Negative, Free, false), ("الشحنة", Negative, Free, false),
    ("تتبع", Negative, Free, false), ("الرصيد", Negative, Free, false), ("رصيد", Negative, Free, false),
    ("المبلغ", Negative, Free, false), ("مبلغ", Negative, Free, false), ("فاتورة", Negative, Free, false),
    ("المرجع", Negative, Free, false), ("مرجع", Negative, Free, false), ("اتصل", Negative, Free, false),
    ("الحساب", SoftNegative, Free, false), ("خصم", Promo, Free, false), ("ريال", Currency, Free, false),
    ("درهم", Currency, Free, false), ("جنيه", Currency, Free, false), ("دقائق", Unit, Free, false),
    ("دقيقة", Unit, Free, false), ("کد", Weak, Free, false), ("کد تایید", Strong, Free, false),
    // --- Chinese / Japanese / Korean ---
    ("验证码", Strong, Free, false), ("校验码", Strong, Free, false), ("检验码", Strong, Free, false),
    ("确认码", Strong, Free, false), ("激活码", Strong, Free, false), ("动态码", Strong, Free, false),
    ("动态密码", Strong, Free, false), ("驗證碼", Strong, Free, false), ("動態碼", Strong, Free, false),
    ("認證碼", Strong, Free, false), ("认证码", Strong, Free, false), ("安全码", Strong, Free, false),
    ("登录码", Strong, Free, false), ("短信口令", Strong, Free, false), ("交易码", Strong, Free, false),
    ("随机码", Strong, Free, false), ("验证", Strong, Free, false), ("驗證", Strong, Free, false),
    ("密码", Weak, Free, false), ("密碼", Weak, Free, false), ("输入", Enter, Free, false),
    ("订单", Negative, Free, false), ("订单号", Negative, Free, false), ("快递", Negative, Free, false),
    ("运单", Negative, Free, false), ("单号", Negative, Free, false), ("余额", Negative, Free, false),
    ("金额", Negative, Free, false), ("尾号", Negative, Free, false), ("电话", Negative, Free, false),
    ("客服", Negative, Free, false), ("取件码", Negative, Free, false), ("优惠码", Negative, Free, false),
    ("兑换码", Negative, Free, false), ("账户", SoftNegative, Free, false), ("账号", SoftNegative, Free, false),
    ("优惠", Promo, Free, false), ("元", Currency, Free, false), ("分钟", Unit, Free, false),
    ("認証コード", Strong, Free, false), ("確認コード", Strong, Free, false), ("認証番号", Strong, Free, false),
    ("確認番号", Strong, Free, false), ("ワンタイムパスワード", Strong, Free, false),
    ("パスコード", Strong, Free, false), ("セキュリティコード", Strong, Free, false),
    ("検証コード", Strong, Free, false), ("認証", Strong, Free, false), ("コード", Weak, Free, false),
    ("暗証番号", Weak, Free, false), ("パスワード", Weak, Free, false), ("入力", Enter, Free, false),
    ("注文", Negative, Free, false), ("注文番号", Negative, Free, false), ("お問い合わせ番号", Negative, Free, false),
    ("追跡", Negative, Free, false), ("残高", Negative, Free, false), ("電話", Negative, Free, false),
    ("口座", SoftNegative, Free, false), ("クーポン", Promo, Free, false), ("円", Currency, Free, false),
    ("分間", Unit, Free, false),
    ("인증번호", Strong, Free, false), ("인증 번호", Strong, Free, false), ("인증코드", Strong, Free, false),
    ("확인코드", Strong, Free, false), ("확인 코드", Strong, Free, false), ("보안코드", Strong, Free, false),
    ("승인번호", Strong, Free, false), ("인증", Strong, Free, false), ("코드", Weak, Free, false),
    ("비밀번호", Weak, Free, false), ("입력", Enter, Free, false), ("주문", Negative, Free, false),
    ("주문번호", Negative, Free, false), ("운송장", Negative, Free, false), ("송장", Negative, Free, false),
    ("잔액", Negative, Free, false), ("금액", Negative, Free, false), ("전화", Negative, Free, false),
    ("계좌", SoftNegative, Free, false), ("쿠폰", Promo, Free, false), ("할인", Promo, Free, false),
    ("원", Currency, Free, false), ("분", Unit, Free, false),
    // --- Thai ---
    ("รหัส", Weak, Free, false), ("รหัสผ่าน", Weak, Free, false), ("รหัสยืนยัน", Strong, Free, false),
    ("ยืนยัน", Strong, Free, false), ("รหัสความปลอดภัย", Strong, Free, false),
    ("รหัสรักษาความปลอดภัย", Strong, Free, false), ("ครั้งเดียว", Strong, Free, false),
    ("รหัสผ่านชั่วคราว", Strong, Free, false), ("เข้าสู่ระบบ", Strong, Free, false),
    ("ลงชื่อเข้าใช้", Strong, Free, false), ("รหัสหมายเลข", Weak, Free, false),
    ("ป้อน", Enter, Free, false), ("กรอก", Enter, Free, false), ("ใส่", Enter, Free, false),
    ("ใช้", Enter, Free, false), ("รหัสอ้างอิง", Negative, Free, false), ("อ้างอิง", Negative, Free, false),
    ("รหัสลูกค้า", Negative, Free, false), ("หมายเลข", Negative, Free, false), ("เบอร์", Negative, Free, false),
    ("โทร", Negative, Free, false), ("ส่ง", Negative, Free, false), ("ติดต่อ", Negative, Free, false), ("รหัสติดตาม", Negative, Free, false),
    ("เลขพัสดุ", Negative, Free, false), ("พัสดุ", Negative, Free, false), ("คำสั่งซื้อ", Negative, Free, false),
    ("ออเดอร์", Negative, Free, false), ("รหัสสินค้า", Negative, Free, false), ("เลขที่", Negative, Free, false),
    ("รหัสผ่านใหม่", Negative, Free, false), ("ยอด", Negative, Free, false), ("ทะเบียน", Negative, Free, false),
    ("บัญชี", SoftNegative, Free, false), ("ส่วนลด", Promo, Free, false), ("โค้ด", Promo, Free, false),
    ("ลดทันที", Promo, Free, false), ("ลดสูงสุด", Promo, Free, false), ("คูปอง", Promo, Free, false),
    ("โปรโมชั่น", Promo, Free, false), ("บาท", Currency, Free, false), ("บ.", Currency, Free, false),
    ("นาที", Unit, Free, false), ("วินาที", Unit, Free, false), ("ชม.", Unit, Free, false),
    ("ชั่วโมง", Unit, Free, false), ("คะแนน", Unit, Free, false), ("วัน", Unit, Free, false),
    // --- Hindi ---
    ("ओटीपी", Strong, Free, false), ("सत्यापन", Strong, Free, false), ("कोड", Weak, Free, false),
    ("पासवर्ड", Weak, Free, false), ("ऑर्डर", Negative, Free, false), ("खाता", SoftNegative, Free, false),
    ("राशि", Negative, Free, false), ("मिनट", Unit, Free, false), ("रुपये", Currency, Free, false),
    // --- Indonesian / Malay / Vietnamese ---
    ("kode", Weak, Both, false), ("kode verifikasi", Strong, Both, false), ("verifikasi", Strong, Left, false),
    ("kode keamanan", Strong, Both, false), ("kode akses", Strong, Both, false), ("kata sandi", Weak, Both, false),
    ("kod pengesahan", Strong, Both, false), ("pengesahan", Strong, Both, false), ("masukkan", Enter, Both, false),
    ("pesanan", Negative, Both, false), ("resi", Negative, Both, false), ("jumlah", Negative, Both, false),
    ("tagihan", Negative, Both, false), ("referensi", Negative, Both, false), ("hubungi", Negative, Both, false),
    ("diskon", Promo, Both, false), ("menit", Unit, Both, false),
    ("mã", Weak, Both, false), ("mã xác thực", Strong, Both, false), ("mã xác nhận", Strong, Both, false),
    ("xác thực", Strong, Both, false), ("xác nhận", Strong, Both, false), ("mật khẩu", Weak, Both, false),
    ("nhập", Enter, Both, false), ("đơn hàng", Negative, Both, false), ("mã đơn", Negative, Both, false),
    ("vận đơn", Negative, Both, false), ("số dư", Negative, Both, false), ("số tiền", Negative, Both, false),
    ("hóa đơn", Negative, Both, false), ("gọi", Negative, Both, false), ("tổng đài", Negative, Both, false),
    ("tài khoản", SoftNegative, Both, false), ("khuyến mãi", Promo, Both, false), ("giảm giá", Promo, Both, false),
    ("phút", Unit, Both, false), ("đồng", Currency, Both, false),
];

/// One matched word, located in the normalised view.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Label {
    pub kind: Kind,
    /// Position of the first character (normalised view).
    pub start: u32,
    /// Position after the last character (normalised view).
    pub end: u32,
}

struct Table {
    automaton: AhoCorasick,
    info: Vec<(Kind, Bound, bool, &'static str)>,
}

static TABLE: LazyLock<Option<Table>> = LazyLock::new(|| {
    let folded: Vec<String> = WORDS.iter().map(|w| fold_str(w.0)).collect();
    let automaton = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&folded)
        .ok()?;
    let info = WORDS.iter().map(|&(w, k, b, cs)| (k, b, cs, w)).collect();
    Some(Table { automaton, info })
});

#[derive(PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Arabic,
    Other,
}

fn script(c: char) -> Script {
    match c as u32 {
        0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF => Script::Latin,
        0x400..=0x52F => Script::Cyrillic,
        0x600..=0x6FF => Script::Arabic,
        _ => Script::Other,
    }
}

/// Whether `neighbour` continues the word `edge` belongs to.
fn joins(edge: char, neighbour: char) -> bool {
    neighbour.is_alphabetic() && script(edge) != Script::Other && script(edge) == script(neighbour)
}

/// Every context word of the text, in order.
pub(crate) fn find_labels(text: &Normalized) -> Vec<Label> {
    let mut labels = Vec::new();
    let Some(table) = TABLE.as_ref() else {
        return labels;
    };
    let chars = text.chars.as_slice();
    for m in table.automaton.find_iter(&text.folded) {
        let Some(&(kind, bound, case_sensitive, word)) = table.info.get(m.pattern().as_usize())
        else {
            continue;
        };
        let start = text.position(m.start());
        let end = text.position(m.end().saturating_sub(1)) + 1;
        let Some(matched) = chars.get(start..end) else {
            continue;
        };
        if case_sensitive && !matched.iter().map(|ch| ch.c).eq(word.chars()) {
            continue;
        }
        if bound != Bound::None {
            let first = matched.first().map_or(' ', |ch| ch.c);
            let before = start
                .checked_sub(1)
                .and_then(|i| chars.get(i))
                .map_or(' ', |ch| ch.c);
            if joins(first, before) {
                continue;
            }
            if bound == Bound::Both {
                let last_c = matched.last().map_or(' ', |ch| ch.c);
                let after = chars.get(end).map_or(' ', |ch| ch.c);
                if joins(last_c, after) {
                    continue;
                }
            }
        }
        labels.push(Label {
            kind,
            start: start as u32,
            end: end as u32,
        });
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::super::normalize::normalize;
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        find_labels(&normalize(text, 1000))
            .iter()
            .map(|l| l.kind)
            .collect()
    }

    #[test]
    fn automaton_builds() {
        assert!(TABLE.is_some());
    }

    #[test]
    fn longest_word_wins() {
        assert_eq!(kinds("รหัสอ้างอิง"), vec![Negative]);
        assert_eq!(kinds("promo code"), vec![Negative]);
        assert_eq!(kinds("Your code"), vec![Weak]);
    }

    #[test]
    fn word_boundaries_are_checked() {
        assert_eq!(kinds("shopping"), Vec::<Kind>::new());
        assert_eq!(kinds("barcode"), Vec::<Kind>::new());
        assert_eq!(kinds("tan"), Vec::<Kind>::new());
        assert_eq!(kinds("TAN"), vec![Weak]);
        assert_eq!(kinds("ShopeePayOTP"), vec![Strong]);
        assert_eq!(kinds("Код"), vec![Weak]);
    }
}
