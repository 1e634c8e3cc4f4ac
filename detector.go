package fetchsms

// Detection is the answer of a Detector for one SMS: the service it came from (0 when
// none is recognised) and the code as written in it ("" when none).
type Detection struct {
	ServiceID int
	Code      string
	// Link is the sign-in or verification link as written ("" when none):
	// detect.ExtractLink.
	Link       string
	Confidence float64
}

// Detector recognises the service and extracts the code of an inbound SMS.
type Detector interface {
	Detect(sender, body string) Detection
}
