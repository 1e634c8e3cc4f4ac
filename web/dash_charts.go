package web

import (
	"fmt"
	"html/template"
	"strings"
)

// barChart draws values as an SVG bar chart, server-side (the page's
// Content-Security-Policy allows no inline script, and none is needed). The
// chart is an image to assistive technology, whose label lists every value.
func barChart(id, title string, labels []string, values []float64, show func(float64) string) template.HTML {
	const w, h, top, bottom = 600.0, 180.0, 18.0, 22.0
	maxV := 0.0
	for _, v := range values {
		maxV = max(maxV, v)
	}
	var desc []string
	var b strings.Builder
	n := float64(max(len(values), 1))
	slot := w / n
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="%s-t" preserveAspectRatio="none">`, id, w, h, id)
	for i, v := range values {
		desc = append(desc, labels[i]+": "+show(v))
		bh := 0.0
		if maxV > 0 {
			bh = (h - top - bottom) * v / maxV
		}
		x := float64(i)*slot + slot*0.15
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="2"><title>%s</title></rect>`,
			x, h-bottom-bh, slot*0.7, max(bh, 0.5), template.HTMLEscapeString(labels[i]+": "+show(v)))
		if len(values) <= 12 || i%(len(values)/8+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+slot*0.35, h-6, template.HTMLEscapeString(labels[i]))
		}
	}
	fmt.Fprintf(&b, `<text x="0" y="12" class="chart-max">max %s</text>`, template.HTMLEscapeString(show(maxV)))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title></svg>`, id, template.HTMLEscapeString(title+" — "+strings.Join(desc, "; ")))
	return template.HTML(b.String())
}
