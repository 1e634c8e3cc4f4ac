package detect

import (
	"regexp"
	"strings"
	"testing"
)

// Hand-built rules mirroring part of the default catalog (detect must not import
// the root package).
const (
	idWhatsApp    = 2
	idGoogle      = 3
	idTelegram    = 4
	idFacebook    = 5
	idInstagram   = 6
	idTikTok      = 7
	idTwitter     = 8
	idDiscord     = 9
	idSnapchat    = 10
	idSignal      = 11
	idMicrosoft   = 14
	idApple       = 15
	idAmazon      = 16
	idTinder      = 21
	idBumble      = 22
	idUber        = 28
	idUberEats    = 29
	idLyft        = 30
	idDoorDash    = 31
	idPayPal      = 36
	idVenmo       = 37
	idCashApp     = 38
	idCoinbase    = 39
	idEbay        = 52
	idSteam       = 63
	idOpenAI      = 72
	idGoogleVoice = 74
)

func testRules() []Rule {
	return []Rule{
		{idWhatsApp, "WhatsApp", []string{"WhatsApp"}, []string{"whatsapp"}},
		{idTelegram, "Telegram", []string{"Telegram"}, []string{"telegram"}},
		{idGoogle, "Google", []string{"Google", "22000"}, []string{"google", "gmail", "youtube"}},
		{idFacebook, "Facebook", []string{"Facebook", "FB", "32665"}, []string{"facebook", "fb.com", "messenger"}},
		{idInstagram, "Instagram", []string{"Instagram", "32665"}, []string{"instagram"}},
		{idTikTok, "TikTok", []string{"TikTok"}, []string{"tiktok", "tik tok"}},
		{idTwitter, "X (Twitter)", []string{"Twitter", "X", "40404"}, []string{"twitter", "x.com", "your x account", "your x code", "x verification code", "x confirmation code", "x code"}},
		{idDiscord, "Discord", []string{"Discord"}, []string{"discord"}},
		{idSnapchat, "Snapchat", []string{"Snapchat"}, []string{"snapchat"}},
		{idSignal, "Signal", []string{"Signal"}, []string{"signal"}},
		{idMicrosoft, "Microsoft", []string{"Microsoft"}, []string{"microsoft", "outlook", "hotmail", "xbox"}},
		{idApple, "Apple", []string{"Apple"}, []string{"apple", "icloud", "@apple.com"}},
		{idAmazon, "Amazon", []string{"Amazon", "262966"}, []string{"amazon", "aws"}},
		{idTinder, "Tinder", []string{"Tinder"}, []string{"tinder"}},
		{idBumble, "Bumble", []string{"Bumble"}, []string{"bumble"}},
		{idUber, "Uber", []string{"Uber", "827222"}, []string{"uber"}},
		{idUberEats, "Uber Eats", []string{"Uber Eats", "UberEats"}, []string{"uber eats", "ubereats"}},
		{idLyft, "Lyft", []string{"Lyft"}, []string{"lyft"}},
		{idDoorDash, "DoorDash", []string{"DoorDash"}, []string{"doordash", "dasher"}},
		{idPayPal, "PayPal", []string{"PayPal", "729725"}, []string{"paypal"}},
		{idVenmo, "Venmo", []string{"Venmo", "86753"}, []string{"venmo"}},
		{idCashApp, "Cash App", []string{"Cash App", "CashApp"}, []string{"cash app", "cashapp"}},
		{idCoinbase, "Coinbase", []string{"Coinbase"}, []string{"coinbase"}},
		{idEbay, "eBay", []string{"eBay"}, []string{"ebay"}},
		{idSteam, "Steam", []string{"Steam"}, []string{"steam"}},
		{idOpenAI, "OpenAI", []string{"OpenAI", "ChatGPT"}, []string{"openai", "chatgpt"}},
		{idGoogleVoice, "Google Voice", []string{"Google Voice"}, []string{"google voice"}},
	}
}

type sample struct {
	sender, body string
	service      int
	code         string
}

var samples = []sample{
	// The seed examples.
	{"WhatsApp", "Your WhatsApp code: 821-193", idWhatsApp, "821-193"},
	{"Telegram", "Telegram code: 482910. Do not give this code to anyone, even if they say they are from Telegram!", idTelegram, "482910"},
	// Messaging & social.
	{"+12025550143", "Your WhatsApp code: 104-552\n\nYou can also tap on this link to verify your phone: v.whatsapp.com/104552\n\nDon't share this code with others", idWhatsApp, "104-552"},
	{"WhatsApp", "<#> Your WhatsApp code: 338-021\nDon't share this code with others\n4sgLq1p5sV6", idWhatsApp, "338-021"},
	{"Telegram", "Telegram code: 71625\n\nYou can also tap on this link to log in:\nhttps://t.me/login/71625", idTelegram, "71625"},
	{"42777", "Login code: 58302. Do not give this code to anyone, even if they say they are from Telegram!\n\nThis code can be used to log in to your Telegram account. We never ask it for anything else.", idTelegram, "58302"},
	{"22000", "G-412157 is your Google verification code.", idGoogle, "G-412157"},
	{"Google", "Your Google verification code is 093114", idGoogle, "093114"},
	{"22000", "<#> G-870021 is your Google verification code. Don't share your code with anyone.\n\nFA+9qCX9VSu", idGoogle, "G-870021"},
	{"32665", "12345678 is your Facebook confirmation code", idFacebook, "12345678"},
	{"32665", "Your Facebook code is 47128. Laffs", idFacebook, "47128"},
	{"32665", "123 456 is your Instagram code. Don't share it.", idInstagram, "123 456"},
	{"Instagram", "Use 889 210 to verify your Instagram account.", idInstagram, "889 210"},
	{"TikTok", "[TikTok] 551203 is your verification code, valid for 5 minutes. To keep your account safe, never forward this code.", idTikTok, "551203"},
	{"40404", "Your Twitter confirmation code is 620153.", idTwitter, "620153"},
	{"X", "Your X confirmation code is h5tjnvyb. Please enter it in the app.", idTwitter, "h5tjnvyb"},
	{"Discord", "Your Discord security code is: 301748", idDiscord, "301748"},
	{"Snapchat", "Snapchat code: 902117. Happy Snapping!", idSnapchat, "902117"},
	{"Signal", "Your Signal verification code: 540-112\n\nDo not share this code", idSignal, "540-112"},
	{"Signal", "<#> Your Signal code: 771-409 Do not share this code\n\ndoDiFGKPO1r", idSignal, "771-409"},
	{"Microsoft", "Use 4830 as Microsoft account security code", idMicrosoft, "4830"},
	{"Microsoft", "Microsoft access code: 2791", idMicrosoft, "2791"},
	{"Apple", "Your Apple Account code is: 184052. Don't share it with anyone.\n\n@apple.com #184052", idApple, "184052"},
	{"Apple", "Your Apple ID Code is: 660218. Don't share it with anyone.", idApple, "660218"},
	{"262966", "401923 is your Amazon OTP. Don't share it with anyone.", idAmazon, "401923"},
	{"Amazon", "Amazon: Your code is 012345. Don't share it. If you didn't request it, deny here https://amazon.com/a/c/r/AbC123", idAmazon, "012345"},
	{"OpenAI", "Your OpenAI verification code is: 928115", idOpenAI, "928115"},
	{"Google Voice", "Your Google Voice verification code is 448219.", idGoogleVoice, "448219"},
	// Dating.
	{"Tinder", "Your Tinder code is 630719 Don't share", idTinder, "630719"},
	{"Bumble", "Bumble verification code: 8812. Enter this code in the app.", idBumble, "8812"},
	// Rideshare & delivery.
	{"827222", "Your Uber code is 1234. Never share this code. Reply STOP ENDUBER to unsubscribe.", idUber, "1234"},
	{"Uber", "Your Uber code: 5521. Never share this code. Reply STOP ENDUBER to unsubscribe.", idUber, "5521"},
	{"Uber", "Your Uber Eats code is 7840. Never share this code.", idUberEats, "7840"},
	{"Lyft", "Your Lyft code is 123456", idLyft, "123456"},
	{"Lyft", "Lyft: Your code is 4417. Msg & data rates may apply. Call 1-800-555-0199 for help.", idLyft, "4417"},
	{"DoorDash", "Your DoorDash verification code is: 402918. Reply STOP to 33662 to opt out", idDoorDash, "402918"},
	// Fintech & crypto.
	{"729725", "PayPal: Your security code is: 118273. Your code expires in 10 minutes. Please don't reply.", idPayPal, "118273"},
	{"86753", "Venmo here! NEVER share this code via call/text. ONLY YOU should enter the code. BEWARE: If someone asks for the code, it's a scam. Code: 449021", idVenmo, "449021"},
	{"Cash App", "Cash App: 731-902 is your sign-in code. Don't share this code with anyone. Cash App will never call you to ask for it.", idCashApp, "731-902"},
	{"Coinbase", "Your Coinbase verification code is: 1082736. Don't share this code with anyone; our employees will never ask for the code.", idCoinbase, "1082736"},
	{"Coinbase", "Coinbase: You sent $1,250.00 of BTC on 06/17/2026. Your 2-step verification code is 5568201.", idCoinbase, "5568201"},
	// Marketplaces & gaming.
	{"eBay", "eBay: Your security code is 552901. Don't share it. Your order #1129-3384 for $12.99 is unrelated.", idEbay, "552901"},
	{"Steam", "Your Steam Guard code: F7K2Q", idSteam, "F7K2Q"},
	// Decoys, no-code messages, prices, dates and phone numbers.
	{"Uber", "Your Uber is arriving now.", idUber, ""},
	{"827222", "Your Uber is arriving in 3 minutes. Look for a white Toyota Camry, plate 8ABC123.", idUber, ""},
	{"Lyft", "Your Lyft driver Maria will arrive at 10:45 PM. Call (415) 555-0142 if you need help.", idLyft, ""},
	{"PayPal", "PayPal: You sent $49.99 USD to John Smith on 06/17/2026.", idPayPal, ""},
	{"Amazon", "Amazon: Your package with order 113-4421983-2210 will arrive Jun 17, 2026.", idAmazon, ""},
	{"Venmo", "Venmo: You paid Sarah $1500 for rent. Balance: $2,310.45", idVenmo, ""},
	{"DoorDash", "DoorDash: Your Dasher is on the way! Order total $23.50. Text STOP to 33662 to opt out", idDoorDash, ""},
	{"Telegram", "Your WhatsApp code: 219-553\nDon't share this code with others", idWhatsApp, "219-553"},
	{"WhatsApp", "Telegram code: 66091. Do not give this code to anyone.", idTelegram, "66091"},
	{"+14155550100", "Your verification code is 482913", 0, "482913"},
	{"+14155550100", "Hey, it's Mike. Call me back at 415-555-0177 when you can.", 0, ""},
	{"88888", "Happy holidays! Save 20% on orders over $50 until 12/31/2026. Reply STOP to opt out.", 0, ""},
	{"Unknown", "Your appointment is on 2026-06-17 at 14:30. Reply C to confirm.", 0, ""},
	{"+18005550199", "Your code is AB12CD", 0, "AB12CD"},
	{"Discord", "Your Instagram code is 998877. Discord will never ask you for it.", idInstagram, "998877"},
	{"32665", "Instagram: someone tried to log in to your account from a new device. If this wasn't you, secure your Facebook account.", idInstagram, ""},
	{"32665", "Your verification code is 337201", 0, "337201"},
	{"Google", "Sign in to TikTok with Google: your TikTok code is 440193.", idTikTok, "440193"},
	// Normalisation: zero-width characters, fullwidth digits, homoglyphs, Spanish.
	{"WhatsApp", "Your Whats\u200bApp code: 821\u200b-193", idWhatsApp, "821-193"},
	{"Telegram", "Telegram code: ４８２９１０", idTelegram, "482910"},
	{"22000", "G-\u200b412157 is your G\u043e\u043egle verification code.", idGoogle, "G-412157"},
	{"WhatsApp", "Tu código de WhatsApp: 552-018\nNo compartas este código con nadie.", idWhatsApp, "552-018"},
	{"Telegram", "Código de inicio de sesión de Telegram: 90210. No lo compartas.", idTelegram, "90210"},
	{"Snapchat", "Snapchat code: 2026. Happy Snapping!", idSnapchat, "2026"},
}

func TestDetectTable(t *testing.T) {
	e := New(testRules())
	var tp, fp, fn, codeOK int
	for _, s := range samples {
		got := e.Detect(s.sender, s.body)
		switch {
		case got.ServiceID == s.service && s.service != 0:
			tp++
		case got.ServiceID != 0 && got.ServiceID != s.service:
			fp++
			if s.service != 0 {
				fn++
			}
		case got.ServiceID == 0 && s.service != 0:
			fn++
		}
		if got.ServiceID != s.service {
			t.Errorf("Detect(%q, %q).ServiceID = %d, want %d", s.sender, s.body, got.ServiceID, s.service)
		}
		if got.Code != s.code {
			t.Errorf("Detect(%q, %q).Code = %q, want %q", s.sender, s.body, got.Code, s.code)
		} else {
			codeOK++
		}
		if got.Confidence < 0 || got.Confidence > 1 {
			t.Errorf("Detect(%q, %q).Confidence = %v, out of [0,1]", s.sender, s.body, got.Confidence)
		}
		if got.ServiceID == 0 && got.Confidence != 0 {
			t.Errorf("Detect(%q, %q): no service but confidence %v", s.sender, s.body, got.Confidence)
		}
		if c := ExtractCode(s.body); c != got.Code {
			t.Errorf("ExtractCode(%q) = %q, Detect says %q", s.body, c, got.Code)
		}
	}
	precision := float64(tp) / float64(max(tp+fp, 1))
	recall := float64(tp) / float64(max(tp+fn, 1))
	t.Logf("%d messages: service precision %.3f, recall %.3f; codes right %d/%d", len(samples), precision, recall, codeOK, len(samples))
	if len(samples) < 60 {
		t.Errorf("only %d samples", len(samples))
	}
}

func TestExtractCode(t *testing.T) {
	tests := []struct{ body, want string }{
		{"Your code: 012345", "012345"},
		{"Your code: AB12CD", "AB12CD"},
		{"482910", "482910"},
		{"Code 4821 expires at 10:45 PM on 06/17/2026.", "4821"},
		{"Your total is $12.99. Code: 5521", "5521"},
		{"Your code is 482910, valid until 2026", "482910"},
		{"Your code is 1234-5678", "1234-5678"},
		{"Your one-time passcode is 90 21 55", ""},
		{"Use code SAVE20 for 20% off", ""},
		{"Visit https://example.com/verify/123456 to continue", ""},
		{"Call 1-800-555-1234 or (415) 555-0142 or +1 415 555 0142", ""},
		{"Your order 1234567 has shipped.", ""},
		{"Happy new year 2026!", ""},
		{"You have 1500 points. Redeem now.", ""},
		{"Meeting at 2026-06-17T22:14:05Z", ""},
		{"Version 10.4.2 is available", ""},
		{"Your card ending in 4242 was charged $100.00", ""},
		{"Reply STOP to 33662 to unsubscribe", ""},
		{"Your verification code is 482913\n\nKh3Fj9aXy+Q", "482913"},
		{"\u202eYour code is 55\u200d1902", "551902"},
		{"<#> 123456 is your code", "123456"},
		{"Your code is ١٢٣٤٥٦", "123456"},
		{"Your code is 𝟒𝟖𝟐𝟗𝟏𝟎", "482910"},
		{"Your code is 482\u00a0910", "482 910"},
		{"Your code is 482–910", "482-910"},
		{"Your Apple Account code is: 184052.\n\n@apple.com #184052", "184052"},
		{"Order #55123 confirmed. Your verification code is 7781.", "7781"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ExtractCode(tt.body); got != tt.want {
			t.Errorf("ExtractCode(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<#> Your code is 1234\nFA+9qCX9VSu", "Your code is 1234"},
		{"Reply STOP to unsubscribe", "Reply STOP to unsubscribe"},
		{"Whats\u200bApp\ufeff", "WhatsApp"},
		{"G\u043e\u043egle", "Google"},
		{"Телеграм", "Телеграм"},
		{"ＷｈａｔｓＡｐｐ １２３", "WhatsApp 123"},
		{"a\r\nb\rc\td", "a\nb\nc d"},
		{"call 18005551234", "call 18005551234"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEngineEdges(t *testing.T) {
	if got := New(nil).Detect("WhatsApp", "Your WhatsApp code: 821-193"); got.ServiceID != 0 || got.Code != "821-193" {
		t.Errorf("empty engine: %+v", got)
	}
	e := New(testRules())
	// Sender alone: a strong alphanumeric sender decides, a shared short code does not.
	if got := e.Detect("Telegram", "Your login code: 55821"); got.ServiceID != idTelegram || got.Confidence >= 0.85 {
		t.Errorf("sender-only: %+v", got)
	}
	if got := e.Detect("32665", "Your code: 55821"); got.ServiceID != 0 {
		t.Errorf("shared short code: %+v", got)
	}
	if got := e.Detect("729725", "Your code: 55821"); got.ServiceID != idPayPal || got.Confidence > 0.5 {
		t.Errorf("unique short code: %+v", got)
	}
	// Keywords match whole words only.
	if got := e.Detect("", "Your order from Uberto's pizza: code 5521"); got.ServiceID != 0 {
		t.Errorf("partial word: %+v", got)
	}
}

func FuzzExtractCode(f *testing.F) {
	for _, s := range samples {
		f.Add(s.body)
	}
	for _, c := range loadCorpus(f) {
		f.Add(c.body)
	}
	f.Add("G-\u200b412157 is your code ＧＯＯＧＬＥ")
	f.Add("<#> code 1234\nFA+9qCX9VSu")
	f.Fuzz(func(t *testing.T, body string) {
		code := ExtractCode(body)
		checkCode(t, body, code)
	})
}

func FuzzDetect(f *testing.F) {
	for _, s := range samples {
		f.Add(s.sender, s.body)
	}
	for _, c := range loadCorpus(f) {
		f.Add(c.sender, c.body)
	}
	e := New(testRules())
	f.Fuzz(func(t *testing.T, sender, body string) {
		r := e.Detect(sender, body)
		checkCode(t, body, r.Code)
		if r.Confidence < 0 || r.Confidence > 1 {
			t.Fatalf("confidence %v", r.Confidence)
		}
		if r.ServiceID != 0 {
			found := false
			for _, rule := range testRules() {
				found = found || rule.ServiceID == r.ServiceID
			}
			if !found {
				t.Fatalf("unknown service %d", r.ServiceID)
			}
		}
		if c := ExtractCode(body); c != r.Code {
			t.Fatalf("Detect code %q != ExtractCode %q", r.Code, c)
		}
	})
}

// codeForm is the documented form of a returned code (see the package doc).
var codeForm = regexp.MustCompile(`^(\d{4,8}|\d{3}[- ]\d{3}|\d{4}[- ]\d{4}|[A-Z]{1,3}-\d{4,8}|[A-Za-z0-9]{4,10})$`)

func checkCode(t *testing.T, body, code string) {
	t.Helper()
	if code == "" {
		return
	}
	if !codeForm.MatchString(code) || strings.Trim(code, "0123456789- ") != "" && !strings.ContainsAny(code, "0123456789") {
		t.Fatalf("code %q of %q not in the documented form", code, body)
	}
	if !strings.Contains(Normalize(body), code) {
		t.Fatalf("code %q not in Normalize(%q) = %q", code, body, Normalize(body))
	}
	ascii := true
	for i := 0; i < len(body); i++ {
		ascii = ascii && (body[i] >= ' ' && body[i] < 0x7f || body[i] == '\n')
	}
	if ascii && !strings.Contains(body, code) {
		t.Fatalf("code %q not in printable ASCII body %q", code, body)
	}
}
