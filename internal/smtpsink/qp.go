package smtpsink

import (
	"io"
	"mime/quotedprintable"
	"strings"
)

func newQP(s string) io.Reader { return quotedprintable.NewReader(strings.NewReader(s)) }
