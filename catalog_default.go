package fetchsms

// DefaultCatalog returns the default service catalog in display order.
//
// Ids are stable public references and are never reused: a retired service keeps
// its id forever, and a new service takes the next free one. Id 1 is the long-term
// "unlimited-services" product (see UnlimitedServiceID); every other entry is a
// short-term verification service. Senders and Keywords are the detection rules
// that tie an inbound SMS to the service (see package detect): Keywords are
// lower-case words or phrases that name the service in a message body, Senders
// are alphanumeric sender names and US short codes that hint at it.
//
// Each call returns a fresh slice that the caller may modify.
func DefaultCatalog() []Service {
	s := func(id int, slug, name string, price Cents, senders, keywords []string) Service {
		return Service{ID: id, Slug: slug, Name: name, PriceCents: price, Enabled: true, Senders: senders, Keywords: keywords}
	}
	type l = []string
	cat := []Service{
		{
			ID: UnlimitedServiceID, Slug: "unlimited-services", Name: "Unlimited Services", PriceCents: 300,
			LongPrices: map[int]Cents{1: 300, 7: 600, 30: 1200, 90: 2500, 365: 9000},
			Enabled:    true,
		},
		// Messaging.
		s(2, "whatsapp", "WhatsApp", 140, l{"WhatsApp"}, l{"whatsapp"}),
		s(4, "telegram", "Telegram", 70, l{"Telegram"}, l{"telegram"}),
		s(3, "google", "Google", 60, l{"Google", "22000"}, l{"google", "gmail", "youtube"}),
		s(5, "facebook", "Facebook", 50, l{"Facebook", "FB", "32665"}, l{"facebook", "fb.com", "messenger"}),
		s(6, "instagram", "Instagram", 50, l{"Instagram", "32665"}, l{"instagram"}),
		s(7, "tiktok", "TikTok", 40, l{"TikTok"}, l{"tiktok", "tik tok"}),
		s(8, "twitter", "X (Twitter)", 50, l{"Twitter", "X", "40404"},
			l{"twitter", "x.com", "your x account", "your x code", "x verification code", "x confirmation code", "x code"}),
		s(9, "discord", "Discord", 50, l{"Discord"}, l{"discord"}),
		s(10, "snapchat", "Snapchat", 40, l{"Snapchat"}, l{"snapchat", "snap chat"}),
		s(11, "signal", "Signal", 60, l{"Signal"}, l{"signal"}),
		s(12, "viber", "Viber", 40, l{"Viber"}, l{"viber"}),
		s(13, "wechat", "WeChat", 120, l{"WeChat"}, l{"wechat", "weixin"}),
		s(14, "microsoft", "Microsoft", 60, l{"Microsoft"}, l{"microsoft", "outlook", "hotmail", "xbox"}),
		s(15, "apple", "Apple", 80, l{"Apple"}, l{"apple", "icloud", "@apple.com"}),
		s(16, "amazon", "Amazon", 60, l{"Amazon", "262966"}, l{"amazon", "aws"}),
		s(17, "linkedin", "LinkedIn", 40, l{"LinkedIn"}, l{"linkedin"}),
		s(18, "pinterest", "Pinterest", 30, l{"Pinterest"}, l{"pinterest"}),
		s(19, "reddit", "Reddit", 30, l{"Reddit"}, l{"reddit"}),
		s(20, "twitch", "Twitch", 40, l{"Twitch"}, l{"twitch"}),
		// Dating.
		s(21, "tinder", "Tinder", 60, l{"Tinder"}, l{"tinder"}),
		s(22, "bumble", "Bumble", 60, l{"Bumble"}, l{"bumble"}),
		s(23, "hinge", "Hinge", 60, l{"Hinge"}, l{"hinge"}),
		s(24, "match", "Match", 50, l{"Match"}, l{"match.com", "match verification", "your match code"}),
		s(25, "okcupid", "OkCupid", 40, l{"OkCupid"}, l{"okcupid"}),
		s(26, "grindr", "Grindr", 50, l{"Grindr"}, l{"grindr"}),
		s(27, "pof", "Plenty of Fish", 40, l{"POF", "PlentyOfFish"}, l{"plenty of fish", "plentyoffish", "pof"}),
		// Rideshare & delivery.
		s(28, "uber", "Uber", 60, l{"Uber", "827222"}, l{"uber"}),
		s(29, "uber-eats", "Uber Eats", 50, l{"Uber Eats", "UberEats"}, l{"uber eats", "ubereats"}),
		s(30, "lyft", "Lyft", 60, l{"Lyft"}, l{"lyft"}),
		s(31, "doordash", "DoorDash", 50, l{"DoorDash"}, l{"doordash", "door dash", "dasher"}),
		s(32, "instacart", "Instacart", 50, l{"Instacart"}, l{"instacart"}),
		s(33, "grubhub", "Grubhub", 40, l{"Grubhub"}, l{"grubhub"}),
		s(34, "gopuff", "Gopuff", 30, l{"Gopuff"}, l{"gopuff"}),
		s(35, "airbnb", "Airbnb", 60, l{"Airbnb"}, l{"airbnb"}),
		// Fintech & crypto.
		s(36, "paypal", "PayPal", 80, l{"PayPal", "729725"}, l{"paypal"}),
		s(37, "venmo", "Venmo", 80, l{"Venmo", "86753"}, l{"venmo"}),
		s(38, "cash-app", "Cash App", 80, l{"Cash App", "CashApp"}, l{"cash app", "cashapp"}),
		s(39, "coinbase", "Coinbase", 90, l{"Coinbase"}, l{"coinbase"}),
		s(40, "binance-us", "Binance.US", 90, l{"Binance", "BinanceUS"}, l{"binance"}),
		s(41, "kraken", "Kraken", 80, l{"Kraken"}, l{"kraken"}),
		s(42, "robinhood", "Robinhood", 80, l{"Robinhood"}, l{"robinhood"}),
		s(43, "chime", "Chime", 70, l{"Chime"}, l{"chime"}),
		s(44, "crypto-com", "Crypto.com", 80, l{"Crypto.com", "CryptoCom"}, l{"crypto.com"}),
		s(45, "stripe", "Stripe", 60, l{"Stripe"}, l{"stripe"}),
		s(46, "wise", "Wise", 60, l{"Wise"}, l{"wise.com", "your wise code", "wise verification", "wise account"}),
		s(47, "revolut", "Revolut", 60, l{"Revolut"}, l{"revolut"}),
		s(48, "sofi", "SoFi", 60, l{"SoFi"}, l{"sofi"}),
		s(49, "klarna", "Klarna", 50, l{"Klarna"}, l{"klarna"}),
		s(50, "affirm", "Affirm", 50, l{"Affirm"}, l{"affirm"}),
		s(51, "afterpay", "Afterpay", 50, l{"Afterpay"}, l{"afterpay"}),
		// Marketplaces & shopping.
		s(52, "ebay", "eBay", 50, l{"eBay"}, l{"ebay"}),
		s(53, "offerup", "OfferUp", 40, l{"OfferUp"}, l{"offerup", "offer up"}),
		s(54, "craigslist", "Craigslist", 40, l{"Craigslist", "CL"}, l{"craigslist"}),
		s(55, "etsy", "Etsy", 40, l{"Etsy"}, l{"etsy"}),
		s(56, "mercari", "Mercari", 40, l{"Mercari"}, l{"mercari"}),
		s(57, "poshmark", "Poshmark", 40, l{"Poshmark"}, l{"poshmark"}),
		s(58, "walmart", "Walmart", 40, l{"Walmart"}, l{"walmart"}),
		s(59, "nike", "Nike", 40, l{"Nike"}, l{"nike", "snkrs"}),
		s(60, "ticketmaster", "Ticketmaster", 50, l{"Ticketmaster"}, l{"ticketmaster"}),
		s(61, "stubhub", "StubHub", 40, l{"StubHub"}, l{"stubhub"}),
		s(62, "nextdoor", "Nextdoor", 30, l{"Nextdoor"}, l{"nextdoor"}),
		// Gaming & sports betting.
		s(63, "steam", "Steam", 40, l{"Steam"}, l{"steam"}),
		s(64, "epic-games", "Epic Games", 40, l{"Epic Games", "EpicGames"}, l{"epic games", "epicgames", "fortnite"}),
		s(65, "playstation", "PlayStation", 40, l{"PlayStation", "Sony"}, l{"playstation", "psn"}),
		s(66, "roblox", "Roblox", 40, l{"Roblox"}, l{"roblox"}),
		s(67, "draftkings", "DraftKings", 90, l{"DraftKings"}, l{"draftkings"}),
		s(68, "fanduel", "FanDuel", 90, l{"FanDuel"}, l{"fanduel"}),
		// Email, cloud & AI.
		s(69, "yahoo", "Yahoo", 40, l{"Yahoo"}, l{"yahoo"}),
		s(70, "proton", "Proton", 50, l{"Proton"}, l{"proton", "protonmail"}),
		s(71, "dropbox", "Dropbox", 40, l{"Dropbox"}, l{"dropbox"}),
		s(72, "openai", "OpenAI (ChatGPT)", 60, l{"OpenAI", "ChatGPT"}, l{"openai", "chatgpt"}),
		s(73, "zoom", "Zoom", 30, l{"Zoom"}, l{"zoom"}),
		s(74, "google-voice", "Google Voice", 80, l{"Google Voice"}, l{"google voice"}),
		s(75, "textnow", "TextNow", 30, l{"TextNow"}, l{"textnow"}),
		s(76, "netflix", "Netflix", 40, l{"Netflix"}, l{"netflix"}),
		s(77, "spotify", "Spotify", 30, l{"Spotify"}, l{"spotify"}),
		// Added after the first 77; grouped by kind, ids in order of addition.
		// Messaging & social.
		s(78, "kakaotalk", "KakaoTalk", 60, l{"KakaoTalk", "Kakao"}, l{"kakaotalk", "kakao"}),
		s(79, "bereal", "BeReal", 30, l{"BeReal"}, l{"bereal"}),
		s(80, "tumblr", "Tumblr", 30, l{"Tumblr"}, l{"tumblr"}),
		s(81, "quora", "Quora", 30, l{"Quora"}, l{"quora"}),
		// Dating.
		s(82, "badoo", "Badoo", 40, l{"Badoo"}, l{"badoo"}),
		s(83, "feeld", "Feeld", 50, l{"Feeld"}, l{"feeld"}),
		s(84, "coffee-meets-bagel", "Coffee Meets Bagel", 40, l{"CMB", "CoffeeMeetsBagel"}, l{"coffee meets bagel", "coffeemeetsbagel"}),
		// Rideshare, delivery & travel.
		s(85, "turo", "Turo", 50, l{"Turo"}, l{"turo"}),
		s(86, "shipt", "Shipt", 40, l{"Shipt"}, l{"shipt"}),
		s(87, "postmates", "Postmates", 40, l{"Postmates"}, l{"postmates"}),
		s(88, "vrbo", "Vrbo", 40, l{"Vrbo"}, l{"vrbo"}),
		// Fintech & crypto.
		s(89, "zelle", "Zelle", 80, l{"Zelle"}, l{"zelle"}),
		s(90, "varo", "Varo Bank", 60, l{"Varo", "VaroBank"}, l{"varo"}),
		s(91, "gemini", "Gemini", 80, l{"Gemini"}, l{"gemini"}),
		s(92, "webull", "Webull", 70, l{"Webull"}, l{"webull"}),
		s(93, "acorns", "Acorns", 60, l{"Acorns"}, l{"acorns"}),
		s(94, "okx", "OKX", 80, l{"OKX"}, l{"okx"}),
		// Marketplaces, shopping & gig work.
		s(95, "temu", "Temu", 40, l{"Temu"}, l{"temu"}),
		s(96, "shein", "SHEIN", 40, l{"SHEIN"}, l{"shein"}),
		s(97, "depop", "Depop", 30, l{"Depop"}, l{"depop"}),
		s(98, "fiverr", "Fiverr", 40, l{"Fiverr"}, l{"fiverr"}),
		s(99, "upwork", "Upwork", 50, l{"Upwork"}, l{"upwork"}),
		s(100, "taskrabbit", "Taskrabbit", 40, l{"Taskrabbit"}, l{"taskrabbit"}),
		s(101, "whatnot", "Whatnot", 40, l{"Whatnot"}, l{"whatnot"}),
		// Gaming & sports betting.
		s(102, "blizzard", "Blizzard (Battle.net)", 40, l{"Blizzard", "BattleNet"}, l{"blizzard", "battle.net", "battlenet"}),
		s(103, "ea", "EA (Electronic Arts)", 40, l{"EA"}, l{"electronic arts", "ea account", "ea security code", "ea verification code", "ea.com"}),
		s(104, "riot-games", "Riot Games", 40, l{"Riot Games", "Riot"}, l{"riot games", "riot account", "riot id", "league of legends", "valorant"}),
		s(105, "nintendo", "Nintendo", 40, l{"Nintendo"}, l{"nintendo"}),
		s(106, "betmgm", "BetMGM", 90, l{"BetMGM"}, l{"betmgm"}),
		s(107, "prizepicks", "PrizePicks", 80, l{"PrizePicks"}, l{"prizepicks"}),
		// Email, cloud, developer & AI.
		s(108, "aol", "AOL", 40, l{"AOL"}, l{"aol"}),
		s(109, "zoho", "Zoho", 30, l{"Zoho"}, l{"zoho"}),
		s(110, "github", "GitHub", 40, l{"GitHub"}, l{"github"}),
		s(111, "adobe", "Adobe", 40, l{"Adobe"}, l{"adobe"}),
		s(112, "anthropic", "Anthropic (Claude)", 60, l{"Anthropic", "Claude"}, l{"anthropic", "claude.ai"}),
	}
	for i := range cat {
		cat[i].ActivationCode = defaultActivationCodes[cat[i].Slug]
	}
	return cat
}

// defaultActivationCodes are the SMS-Activate protocol's own codes of the default
// services that protocol knows (by slug), so that its tools buy them unchanged.
// The others have none until an admin gives them one.
var defaultActivationCodes = map[string]string{
	// Messaging & social.
	"whatsapp": "wa", "telegram": "tg", "google": "go", "facebook": "fb", "instagram": "ig",
	"tiktok": "lf", "twitter": "tw", "discord": "ds", "snapchat": "fu", "signal": "bw",
	"viber": "vi", "wechat": "wb", "microsoft": "mm", "apple": "wx", "amazon": "am",
	"linkedin": "tn", "reddit": "bnl", "twitch": "hb", "kakaotalk": "kt",
	// Dating.
	"tinder": "oi", "bumble": "mo", "hinge": "vz", "match": "axr", "okcupid": "vm",
	"grindr": "yw", "pof": "pf", "badoo": "qv", "feeld": "ws", "coffee-meets-bagel": "agm",
	// Rideshare, delivery & travel.
	"uber": "ub", "lyft": "tu", "doordash": "ac", "airbnb": "uk",
	// Fintech & crypto.
	"paypal": "ts", "venmo": "yy", "coinbase": "re", "binance-us": "aon", "chime": "bbq",
	"crypto-com": "ti", "wise": "bo", "revolut": "ij", "klarna": "afz", "affirm": "bow", "okx": "aor",
	// Marketplaces, shopping & gig work.
	"ebay": "dh", "offerup": "zm", "craigslist": "wc", "mercari": "dg", "walmart": "wr",
	"nike": "ew", "ticketmaster": "gp", "nextdoor": "ef", "temu": "ep", "shein": "aez",
	"fiverr": "cn", "upwork": "abq", "whatnot": "bex",
	// Gaming.
	"steam": "mt", "epic-games": "blm", "roblox": "aiw", "blizzard": "bz",
	// Email, cloud & AI.
	"yahoo": "mb", "proton": "dp", "openai": "dr", "google-voice": "gf", "netflix": "nf",
	"spotify": "alj", "aol": "pm", "zoho": "zh", "anthropic": "acz",
}
