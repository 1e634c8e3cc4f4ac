package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/fetchsms/fetchsms/web/openapi"
)

// The API reference: GET /v1/openapi.json serves the embedded OpenAPI document
// as written; GET /docs/api renders the same document as a page, on the server,
// with nothing fetched from elsewhere (docs/DECISIONS.md, "The API reference").

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeBody(w, openapi.Document)
}

func (s *Server) handleAPIReference(w http.ResponseWriter, r *http.Request) {
	ref, err := apiReference()
	if err != nil {
		s.pageError(w, r, nil, err)
		return
	}
	// Public, like the catalog; a signed-in person keeps the dashboard's menu.
	p := &pageData{Title: "API reference", Nav: "api", Data: ref}
	if token, pr := s.cookieSession(r); pr != nil {
		p.User, p.CSRF = pr.User, csrfToken(token)
	}
	s.render(w, r, http.StatusOK, "api_reference", p)
}

// apiReference is the page's view of the document, built once.
var apiReference = sync.OnceValues(func() (*refDoc, error) { return buildReference(openapi.Document) })

// refDoc is what the reference page shows, in the document's order.
type refDoc struct {
	Title, Version, Summary string
	Intro                   template.HTML
	Security                []refScheme
	Tags                    []*refTag
	Webhooks                []*refOp
	Schemas                 []*refSchema
	Codes                   []refCode
}

type refScheme struct{ Name, How, Description string }

type refTag struct {
	Name, Anchor, Description string
	Ops                       []*refOp
}

type refOp struct {
	Method, Path, Anchor, Summary string
	Description                   template.HTML
	Auth                          []string
	Params                        []refField
	Body                          *refBody
	Responses                     []refResponse
}

type refBody struct {
	ContentType string
	Type        refType
	Fields      []refField // an inline object's fields
}

type refResponse struct {
	Status, Description string
	Type                *refType
	Headers             []string
}

type refSchema struct {
	Name, Anchor, Description string
	Type                      refType
	Fields                    []refField
	Example                   string // the first of its examples, indented JSON
}

type refField struct {
	Name, In    string
	Type        refType
	Required    bool
	Description string
}

// refType is a type as the page writes it: text, and the anchor of the schema
// it names, if any.
type refType struct{ Text, Link string }

type refCode struct{ Status, Code, Meaning string }

// Just enough of OpenAPI and JSON Schema to describe our document.
type oaSchema struct {
	Ref                  string               `json:"$ref"`
	Type                 any                  `json:"type"`
	Format               string               `json:"format"`
	Description          string               `json:"description"`
	Enum                 []any                `json:"enum"`
	Const                any                  `json:"const"`
	Items                *oaSchema            `json:"items"`
	OneOf                []*oaSchema          `json:"oneOf"`
	AllOf                []*oaSchema          `json:"allOf"`
	Properties           orderedMap[oaSchema] `json:"properties"`
	Required             []string             `json:"required"`
	AdditionalProperties json.RawMessage      `json:"additionalProperties"`
	Minimum              *float64             `json:"minimum"`
	Maximum              *float64             `json:"maximum"`
	Pattern              string               `json:"pattern"`
	Examples             []json.RawMessage    `json:"examples"`
}

type oaParam struct {
	Ref         string    `json:"$ref"`
	Name        string    `json:"name"`
	In          string    `json:"in"`
	Required    bool      `json:"required"`
	Description string    `json:"description"`
	Schema      *oaSchema `json:"schema"`
}

type oaMedia struct {
	Schema *oaSchema `json:"schema"`
}

type oaResponse struct {
	Ref         string              `json:"$ref"`
	Description string              `json:"description"`
	Headers     orderedMap[oaParam] `json:"headers"`
	Content     orderedMap[oaMedia] `json:"content"`
}

type oaOperation struct {
	Tags        []string  `json:"tags"`
	Summary     string    `json:"summary"`
	Description string    `json:"description"`
	Parameters  []oaParam `json:"parameters"`
	RequestBody *struct {
		Description string              `json:"description"`
		Content     orderedMap[oaMedia] `json:"content"`
	} `json:"requestBody"`
	Security  []map[string][]string  `json:"security"`
	Responses orderedMap[oaResponse] `json:"responses"`
}

type oaDocument struct {
	Info struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Summary     string `json:"summary"`
		Description string `json:"description"`
	} `json:"info"`
	Tags []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"tags"`
	Paths      orderedMap[orderedMap[oaOperation]] `json:"paths"`
	Webhooks   orderedMap[orderedMap[oaOperation]] `json:"webhooks"`
	Components struct {
		Schemas         orderedMap[oaSchema]   `json:"schemas"`
		Responses       orderedMap[oaResponse] `json:"responses"`
		Parameters      orderedMap[oaParam]    `json:"parameters"`
		Headers         orderedMap[oaParam]    `json:"headers"`
		SecuritySchemes orderedMap[struct {
			Type         string `json:"type"`
			Scheme       string `json:"scheme"`
			BearerFormat string `json:"bearerFormat"`
			In           string `json:"in"`
			Name         string `json:"name"`
			Description  string `json:"description"`
		}] `json:"securitySchemes"`
	} `json:"components"`
}

// orderedMap is a JSON object whose keys keep the document's order.
type orderedMap[V any] []orderedEntry[V]

type orderedEntry[V any] struct {
	Key   string
	Value V
}

// UnmarshalJSON reads an object key by key; anything else is an error.
func (m *orderedMap[V]) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("expected a JSON object")
	}
	var out orderedMap[V]
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := t.(string)
		if !ok {
			return fmt.Errorf("expected an object key")
		}
		var v V
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, orderedEntry[V]{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	*m = out
	return nil
}

// get returns the value of key, or false.
func (m orderedMap[V]) get(key string) (V, bool) {
	for _, e := range m {
		if e.Key == key {
			return e.Value, true
		}
	}
	var zero V
	return zero, false
}

var methodOrder = map[string]int{"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}

// buildReference reads the document into the page's view.
func buildReference(raw []byte) (*refDoc, error) {
	var d oaDocument
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("the API document: %w", err)
	}
	out := &refDoc{Title: d.Info.Title, Version: d.Info.Version, Summary: d.Info.Summary, Intro: prose(d.Info.Description)}
	for _, e := range d.Components.SecuritySchemes {
		how := "Authorization: Bearer " + e.Value.BearerFormat
		if e.Value.Type == "apiKey" {
			how = e.Value.In + " " + e.Value.Name
		}
		out.Security = append(out.Security, refScheme{Name: e.Key, How: how, Description: e.Value.Description})
	}
	tags := map[string]*refTag{}
	for _, t := range d.Tags {
		tag := &refTag{Name: t.Name, Anchor: "tag-" + anchor(t.Name), Description: t.Description}
		tags[t.Name] = tag
		out.Tags = append(out.Tags, tag)
	}
	for _, p := range d.Paths {
		ops := append(orderedMap[oaOperation](nil), p.Value...)
		sort.SliceStable(ops, func(i, j int) bool { return methodOrder[ops[i].Key] < methodOrder[ops[j].Key] })
		for _, o := range ops {
			op := buildOp(&d, strings.ToUpper(o.Key), p.Key, o.Value)
			name := "Other"
			if len(o.Value.Tags) > 0 {
				name = o.Value.Tags[0]
			}
			tag := tags[name]
			if tag == nil {
				tag = &refTag{Name: name, Anchor: "tag-" + anchor(name)}
				tags[name] = tag
				out.Tags = append(out.Tags, tag)
			}
			tag.Ops = append(tag.Ops, op)
		}
	}
	for _, w := range d.Webhooks {
		for _, o := range w.Value {
			op := buildOp(&d, "POST", w.Key, o.Value)
			op.Anchor = "webhook-" + anchor(w.Key)
			out.Webhooks = append(out.Webhooks, op)
		}
	}
	for _, e := range d.Components.Schemas {
		sc := e.Value
		rs := &refSchema{Name: e.Key, Anchor: "schema-" + e.Key, Description: sc.Description, Type: typeOf(&sc), Fields: fieldsOf(&sc)}
		if len(sc.Examples) > 0 {
			var b bytes.Buffer
			if err := json.Indent(&b, sc.Examples[0], "", "  "); err != nil {
				return nil, fmt.Errorf("the API document: example of %s: %w", e.Key, err)
			}
			rs.Example = b.String()
		}
		out.Schemas = append(out.Schemas, rs)
		if e.Key == "Error" {
			if code, ok := sc.Properties.get("code"); ok {
				for _, c := range code.OneOf {
					status, meaning, _ := strings.Cut(c.Description, " — ")
					out.Codes = append(out.Codes, refCode{Status: status, Code: fmt.Sprint(c.Const), Meaning: meaning})
				}
			}
		}
	}
	return out, nil
}

func buildOp(d *oaDocument, method, path string, o oaOperation) *refOp {
	op := &refOp{Method: method, Path: path, Anchor: anchor(method + " " + path), Summary: o.Summary, Description: prose(o.Description)}
	for _, req := range o.Security {
		for name := range req {
			op.Auth = append(op.Auth, name)
		}
	}
	sort.Strings(op.Auth)
	for _, p := range o.Parameters {
		if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
			p, _ = d.Components.Parameters.get(name)
		}
		f := refField{Name: p.Name, In: p.In, Required: p.Required, Description: p.Description}
		if p.Schema != nil {
			f.Type = typeOf(p.Schema)
		}
		op.Params = append(op.Params, f)
	}
	if rb := o.RequestBody; rb != nil {
		for _, c := range rb.Content {
			b := &refBody{ContentType: c.Key}
			if c.Value.Schema != nil {
				b.Type = typeOf(c.Value.Schema)
				b.Fields = fieldsOf(c.Value.Schema)
			}
			op.Body = b
			break
		}
	}
	for _, e := range o.Responses {
		r := e.Value
		if name, ok := strings.CutPrefix(r.Ref, "#/components/responses/"); ok {
			r, _ = d.Components.Responses.get(name)
		}
		resp := refResponse{Status: e.Key, Description: r.Description}
		for _, c := range r.Content {
			if c.Value.Schema != nil {
				t := typeOf(c.Value.Schema)
				resp.Type = &t
			}
			break
		}
		for _, h := range r.Headers {
			resp.Headers = append(resp.Headers, h.Key)
		}
		op.Responses = append(op.Responses, resp)
	}
	return op
}

// fieldsOf lists an inline object's properties (a named schema is linked instead).
func fieldsOf(s *oaSchema) []refField {
	if s.Ref != "" {
		return nil
	}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	var out []refField
	for _, p := range s.Properties {
		sc := p.Value
		out = append(out, refField{Name: p.Key, Type: typeOf(&sc), Required: required[p.Key], Description: sc.Description})
	}
	return out
}

// typeOf writes a schema's type in words: "string (uuid)", "array of Rental",
// "integer or null", "one of: \"a\", \"b\"".
func typeOf(s *oaSchema) refType {
	if name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/"); ok {
		return refType{Text: name, Link: "schema-" + name}
	}
	if s.Const != nil {
		b, _ := json.Marshal(s.Const)
		return refType{Text: string(b)}
	}
	if len(s.OneOf) > 0 {
		var parts []string
		link := ""
		for _, o := range s.OneOf {
			t := typeOf(o)
			parts = append(parts, t.Text)
			if link == "" {
				link = t.Link
			}
		}
		return refType{Text: strings.Join(parts, " or "), Link: link}
	}
	var types []string
	switch t := s.Type.(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, fmt.Sprint(x))
		}
	}
	for i, t := range types {
		switch t {
		case "array":
			if s.Items != nil {
				it := typeOf(s.Items)
				return refType{Text: "array of " + it.Text, Link: it.Link}
			}
		case "string":
			if s.Format != "" {
				types[i] = "string (" + s.Format + ")"
			}
		case "object":
			if len(s.AdditionalProperties) > 0 && s.AdditionalProperties[0] == '{' {
				var v oaSchema
				if json.Unmarshal(s.AdditionalProperties, &v) == nil {
					types[i] = "object of " + typeOf(&v).Text
				}
			}
		}
	}
	text := strings.Join(types, " or ")
	if len(s.Enum) > 0 {
		var vals []string
		for _, v := range s.Enum {
			b, _ := json.Marshal(v)
			vals = append(vals, string(b))
		}
		text += ": " + strings.Join(vals, ", ")
	}
	if s.Minimum != nil && s.Maximum != nil {
		text += fmt.Sprintf(", %v–%v", *s.Minimum, *s.Maximum)
	}
	if text == "" {
		text = "any"
	}
	return refType{Text: text}
}

var nonAnchor = regexp.MustCompile(`[^a-z0-9]+`)

func anchor(s string) string {
	return strings.Trim(nonAnchor.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

var inlineCode = regexp.MustCompile("`([^`]+)`")

// prose renders the document's descriptions: paragraphs, "## " headings and
// "- " lists, with `code`. Everything is escaped first; nothing else is markup.
func prose(text string) template.HTML {
	var b strings.Builder
	inline := func(s string) string {
		return inlineCode.ReplaceAllString(template.HTMLEscapeString(s), "<code>$1</code>")
	}
	for _, block := range strings.Split(strings.TrimSpace(text), "\n\n") {
		block = strings.TrimSpace(block)
		switch {
		case block == "":
		case strings.HasPrefix(block, "## "):
			h := strings.TrimPrefix(block, "## ")
			fmt.Fprintf(&b, "<h3 id=\"%s\">%s</h3>\n", anchor(h), inline(h))
		case strings.HasPrefix(block, "- "):
			b.WriteString("<ul>\n")
			for _, item := range strings.Split(block, "\n") {
				fmt.Fprintf(&b, "<li>%s</li>\n", inline(strings.TrimPrefix(strings.TrimSpace(item), "- ")))
			}
			b.WriteString("</ul>\n")
		default:
			fmt.Fprintf(&b, "<p>%s</p>\n", inline(block))
		}
	}
	return template.HTML(b.String())
}
