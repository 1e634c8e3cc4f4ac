package fetchsms

import "github.com/fetchsms/fetchsms/detect"

// engineDetector adapts the detect engine to the Detector interface.
type engineDetector struct{ e *detect.Engine }

func (d engineDetector) Detect(sender, body string) Detection {
	r := d.e.Detect(sender, body)
	return Detection{ServiceID: r.ServiceID, Code: r.Code, Link: detect.ExtractLink(body), Confidence: r.Confidence}
}

// NewDetector builds the detection engine from the catalog's rules.
func NewDetector(services []*Service) Detector {
	rules := make([]detect.Rule, 0, len(services))
	for _, s := range services {
		if s.IsLongTerm() {
			continue
		}
		rules = append(rules, detect.Rule{ServiceID: s.ID, Name: s.Name, Senders: s.Senders, Keywords: s.Keywords})
	}
	return engineDetector{detect.New(rules)}
}
