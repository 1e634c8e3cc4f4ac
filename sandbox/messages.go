package sandbox

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// template is how one service words its verification SMS.
type template struct {
	sender string
	body   string // fmt format; every %[1]s is the written code
	format func(code string) string
}

// grouped writes a 6-digit code in two groups of three joined by sep ("821-193");
// any other code is written as is.
func grouped(sep string) func(string) string {
	return func(code string) string {
		if len(code) == 6 && allDigits(code) {
			return code[:3] + sep + code[3:]
		}
		return code
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// templates are hand-written after the messages the services really send.
var templates = map[string]template{
	"whatsapp":     {"WhatsApp", "Your WhatsApp code: %[1]s\n\nDon't share this code with others", grouped("-")},
	"telegram":     {"Telegram", "Telegram code: %[1]s. Do not give this code to anyone, even if they say they are from Telegram!", nil},
	"google":       {"22000", "%[1]s is your Google verification code.", func(c string) string { return "G-" + c }},
	"facebook":     {"32665", "%[1]s is your Facebook confirmation code", nil},
	"instagram":    {"32665", "%[1]s is your Instagram code. Don't share it.", grouped(" ")},
	"tiktok":       {"TikTok", "[TikTok] %[1]s is your verification code, valid for 5 minutes. To keep your account safe, never forward this code.", nil},
	"twitter":      {"40404", "Your X confirmation code is %[1]s.", nil},
	"discord":      {"Discord", "Your Discord security code is: %[1]s", nil},
	"snapchat":     {"Snapchat", "Snapchat code: %[1]s. Happy Snapping!", nil},
	"signal":       {"Signal", "Your Signal verification code: %[1]s\n\nDo not share this code", grouped("-")},
	"microsoft":    {"Microsoft", "Use %[1]s as Microsoft account security code", nil},
	"apple":        {"Apple", "Your Apple Account code is: %[1]s. Don't share it with anyone.\n\n@apple.com #%[1]s", nil},
	"amazon":       {"262966", "%[1]s is your Amazon OTP. Don't share it with anyone.", nil},
	"uber":         {"827222", "Your Uber code is %[1]s. Never share this code. Reply STOP ENDUBER to unsubscribe.", nil},
	"uber-eats":    {"Uber", "Your Uber Eats code is %[1]s. Never share this code.", nil},
	"lyft":         {"Lyft", "Your Lyft code is %[1]s", nil},
	"doordash":     {"DoorDash", "Your DoorDash verification code is: %[1]s. Reply STOP to opt out", nil},
	"paypal":       {"729725", "PayPal: Your security code is: %[1]s. Your code expires in 10 minutes. Please don't reply.", nil},
	"venmo":        {"86753", "Venmo here! NEVER share this code via call/text. ONLY YOU should enter the code. BEWARE: If someone asks for the code, it's a scam. Code: %[1]s", nil},
	"cash-app":     {"Cash App", "Cash App: %[1]s is your sign-in code. Don't share this code with anyone. Cash App will never call you to ask for it.", grouped("-")},
	"coinbase":     {"Coinbase", "Your Coinbase verification code is: %[1]s. Don't share this code with anyone; our employees will never ask for the code.", nil},
	"tinder":       {"Tinder", "Your Tinder code is %[1]s Don't share", nil},
	"bumble":       {"Bumble", "Bumble verification code: %[1]s. Enter this code in the app.", nil},
	"hinge":        {"Hinge", "Your Hinge verification code is %[1]s", nil},
	"match":        {"Match", "Your Match.com verification code is %[1]s. It expires in 10 minutes.", nil},
	"openai":       {"OpenAI", "Your OpenAI verification code is: %[1]s", nil},
	"google-voice": {"Google Voice", "Your Google Voice verification code is %[1]s.", nil},
	"airbnb":       {"Airbnb", "Your Airbnb verification code is: %[1]s. Don't share this code with anyone; our employees will never ask for the code.", nil},
	"robinhood":    {"Robinhood", "Your Robinhood code is %[1]s. Do not share this code.", nil},
	"chime":        {"Chime", "Chime: Your verification code is %[1]s. Never share this code.", nil},
	"ebay":         {"eBay", "eBay: Your security code is %[1]s. Don't share it with anyone.", nil},
	"linkedin":     {"LinkedIn", "Your LinkedIn verification code is %[1]s.", nil},
	"yahoo":        {"Yahoo", "%[1]s is your Yahoo verification code", nil},
	"steam":        {"Steam", "Your Steam Guard code: %[1]s", nil},
	"wise":         {"Wise", "Your Wise code is %[1]s. Never share it with anyone.", nil},
	"kakaotalk":    {"KakaoTalk", "[KakaoTalk] Verification code [%[1]s]. Enter the code to sign up.", nil},
	"zelle":        {"Zelle", "Zelle: Your verification code is %[1]s. Never share this code. Zelle will never ask you for it.", nil},
	"webull":       {"Webull", "[Webull] Your verification code is %[1]s. Valid for 10 minutes.", nil},
	"okx":          {"OKX", "[OKX] Your verification code is %[1]s. Do not share it with anyone.", nil},
	"temu":         {"Temu", "[Temu] Your verification code is %[1]s. It expires in 10 minutes.", nil},
	"shein":        {"SHEIN", "[SHEIN] Your verification code is %[1]s, valid for 10 minutes.", nil},
	"blizzard":     {"Blizzard", "Your Battle.net security code is %[1]s", nil},
	"github":       {"GitHub", "GitHub authentication code: %[1]s\n\n@github.com #%[1]s", nil},
	"betmgm":       {"BetMGM", "BetMGM: Your verification code is %[1]s. Gambling problem? Call 1-800-GAMBLER.", nil},
	"anthropic":    {"Anthropic", "Your Anthropic verification code is %[1]s", nil},
}

// SampleSMS returns a realistic verification SMS that the service with this slug
// and name would send, carrying code. Popular services have hand-written
// templates; any other service gets "<Name>: your verification code is <code>.
// Don't share it." from the sender <Name>.
//
// Some services write a 6-digit code their own way (WhatsApp "821-193",
// Instagram "821 193", Google "G-821193"), so SampleSMS may format the code:
// written is the code exactly as it appears in body, which is what code
// extraction should return.
func SampleSMS(slug, name, code string) (sender, body, written string) {
	t, ok := templates[slug]
	if !ok {
		t = template{sender: name, body: strings.ReplaceAll(name, "%", "%%") + ": your verification code is %[1]s. Don't share it."}
	}
	written = code
	if t.format != nil {
		written = t.format(code)
	}
	return t.sender, fmt.Sprintf(t.body, written), written
}

// NewCode returns a random 6-digit code string (may have leading zeros) using r.
func NewCode(r *rand.Rand) string {
	return fmt.Sprintf("%06d", r.IntN(1_000_000))
}
