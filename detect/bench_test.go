package detect

import "testing"

// BenchmarkDetect is the detection of one typical inbound SMS.
func BenchmarkDetect(b *testing.B) {
	e := New([]Rule{
		{ServiceID: 2, Name: "WhatsApp", Senders: []string{"WhatsApp"}, Keywords: []string{"whatsapp"}},
		{ServiceID: 4, Name: "Telegram", Senders: []string{"Telegram"}, Keywords: []string{"telegram"}},
		{ServiceID: 3, Name: "Google", Senders: []string{"22000"}, Keywords: []string{"google"}},
	})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if r := e.Detect("Telegram", "Telegram code: 482910. Do not give this code to anyone, even if they say they are from Telegram!"); r.ServiceID != 4 {
			b.Fatal(r)
		}
	}
}
