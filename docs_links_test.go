package fetchsms

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mdLink is a Markdown link or image: [text](target) or ![alt](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// docLinks returns the targets of the links in a Markdown text, outside fenced
// code blocks and inline code (where "](" is an example, not a link).
func docLinks(text string) []string {
	var out []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		parts := strings.Split(line, "`")
		for i := 0; i < len(parts); i += 2 { // the even parts are outside inline code
			for _, m := range mdLink.FindAllStringSubmatch(parts[i], -1) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// TestDocLinksResolve: every link in the README and docs/ leads to a file or
// folder of this repository. Readers are never sent elsewhere (STYLE 13, SPEC
// §6): no web addresses, nothing above the repository's root.
func TestDocLinksResolve(t *testing.T) {
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "README.md")
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range docLinks(string(b)) {
			links++
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "//") {
				t.Errorf("%s links to %s, outside the repository", f, target)
				continue
			}
			path, _, _ := strings.Cut(target, "#")
			if path == "" {
				continue // an anchor in the same file
			}
			abs, err := filepath.Abs(filepath.Join(filepath.Dir(f), filepath.FromSlash(path)))
			if err != nil {
				t.Errorf("%s: link %s: %v", f, target, err)
				continue
			}
			if rel, err := filepath.Rel(root, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				t.Errorf("%s links to %s, above the repository's root", f, target)
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s links to %s, which does not exist", f, target)
			}
		}
	}
	if links < 10 {
		t.Errorf("found only %d links in README.md and docs/: is the link pattern still right?", links)
	}
}

func TestDocLinksParse(t *testing.T) {
	got := docLinks("see [a](docs/A.md) and ![i](x.png \"t\")\n`[not](code.md)` [b](#frag)\n```\n[no](fenced.md)\n```\n[c](https://example.com)")
	want := []string{"docs/A.md", "x.png", "#frag", "https://example.com"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("docLinks = %q, want %q", got, want)
	}
}
