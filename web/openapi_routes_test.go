package web

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/web/openapi"
)

// routeTable reads the patterns registered in server.go's routes(): the public
// API's whole route table ("GET /v1/services", …). The dashboard's HTML pages
// (dash_routes.go) are not part of it.
func routeTable(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "server.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "routes" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a route pattern that is not a string literal", fset.Position(call.Pos()))
				return true
			}
			p, _ := strconv.Unquote(lit.Value)
			out = append(out, p)
			return true
		})
	}
	if len(out) < 50 {
		t.Fatalf("found only %d routes in server.go's routes(): has it moved?", len(out))
	}
	return out
}

// documentedRoutes lists "METHOD /path" for every operation in the document.
func documentedRoutes(t *testing.T) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	var out []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				out = append(out, strings.ToUpper(method)+" "+path)
			}
		}
	}
	return out
}

// TestOpenAPICoversEveryRoute: every route of the route table is in the
// document, and every operation of the document is a route.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	routes := map[string]bool{}
	for _, r := range routeTable(t) {
		routes[r] = true
	}
	docs := map[string]bool{}
	for _, r := range documentedRoutes(t) {
		docs[r] = true
	}
	var missing, extra []string
	for r := range routes {
		if !docs[r] {
			missing = append(missing, r)
		}
	}
	for r := range docs {
		if !routes[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, r := range missing {
		t.Errorf("route %q is not in web/openapi/openapi.json", r)
	}
	for _, r := range extra {
		t.Errorf("web/openapi/openapi.json documents %q, which routes() does not serve", r)
	}
}

// TestOpenAPIErrorCodes: the document's error codes are exactly the table of
// docs/ERRORS.md, each with its status, and every code the server can answer.
func TestOpenAPIErrorCodes(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Code struct {
							OneOf []struct {
								Const       string `json:"const"`
								Description string `json:"description"`
							} `json:"oneOf"`
						} `json:"code"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{} // code → status
	for _, c := range doc.Components.Schemas.Error.Properties.Code.OneOf {
		status, _, _ := strings.Cut(c.Description, " — ")
		documented[c.Const] = status
	}
	md, err := os.ReadFile("../docs/ERRORS.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (\\d{3}) \\| `([a-z_]+)` \\|")
	table := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(md), -1) {
		table[m[2]] = m[1]
	}
	if len(table) < 15 {
		t.Fatalf("read only %d codes from docs/ERRORS.md: has its table changed shape?", len(table))
	}
	for code, status := range table {
		if documented[code] != status {
			t.Errorf("docs/ERRORS.md has %s %s; the OpenAPI document has %q", status, code, documented[code])
		}
	}
	for code := range documented {
		if table[code] == "" {
			t.Errorf("the OpenAPI document has code %s, docs/ERRORS.md does not", code)
		}
	}
	for _, reason := range fetchsms.Reasons {
		if documented[reason] == "" {
			t.Errorf("the server answers code %s, the OpenAPI document does not list it", reason)
		}
	}
}

// TestAPIReferenceRenders: the page is built from the document, names every
// operation and every error code, and escapes what it shows.
func TestAPIReferenceRenders(t *testing.T) {
	ref, err := buildReference(openapi.Document)
	if err != nil {
		t.Fatal(err)
	}
	ops := 0
	for _, tag := range ref.Tags {
		ops += len(tag.Ops)
	}
	if want := len(documentedRoutes(t)); ops != want {
		t.Errorf("the page shows %d operations, the document has %d", ops, want)
	}
	examples := 0
	for _, sc := range ref.Schemas {
		if sc.Example != "" {
			examples++
		}
	}
	if examples < 5 {
		t.Errorf("the page shows %d examples", examples)
	}
	if len(ref.Codes) < 15 || len(ref.Schemas) < 20 || len(ref.Webhooks) != 4 {
		t.Errorf("the page has %d codes, %d schemas, %d webhook events", len(ref.Codes), len(ref.Schemas), len(ref.Webhooks))
	}
	if got := string(prose("a <b> `x<y>`\n\n## T & U\n\n- one\n- `two`")); got != "<p>a &lt;b&gt; <code>x&lt;y&gt;</code></p>\n<h3 id=\"t-u\">T &amp; U</h3>\n<ul>\n<li>one</li>\n<li><code>two</code></li>\n</ul>\n" {
		t.Errorf("prose = %q", got)
	}
}

// FuzzOrderedMap: the reader of the document's objects never panics, and keeps
// every key of an object in order.
func FuzzOrderedMap(f *testing.F) {
	f.Add(`{"b": 1, "a": {"x": [1, 2]}, "c": null}`)
	f.Add(`{}`)
	f.Add(`[1]`)
	f.Add(`{"a": 1,}`)
	f.Add(`{"a"`)
	f.Fuzz(func(t *testing.T, s string) {
		var m orderedMap[json.RawMessage]
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return
		}
		var plain map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &plain); err != nil {
			t.Fatalf("orderedMap took %q, encoding/json refuses it: %v", s, err)
		}
		seen := map[string]bool{}
		for _, e := range m {
			seen[e.Key] = true
		}
		if len(seen) != len(plain) {
			t.Fatalf("%q: %d keys, want %d", s, len(seen), len(plain))
		}
	})
}
