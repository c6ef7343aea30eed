// Package dashboard checks a Grafana dashboard against the metrics a
// server exposes, so that the dashboard kept in the repository
// (deploy/grafana/shatter.json) cannot rot: every panel's PromQL is parsed
// with Prometheus's own parser, and every metric it selects, every label
// it matches on and every label it groups by must be in a scrape of
// /metrics.
//
// Tests use it; it is no part of the server.
package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// DatasourceInput is the name of the dashboard's one input, the Prometheus
// data source picked at import: panels refer to it as ${DS_PROMETHEUS}.
const DatasourceInput = "DS_PROMETHEUS"

// Dashboard is the part of a Grafana dashboard's JSON (as exported for
// sharing, with __inputs) that the checks read.
type Dashboard struct {
	Inputs        []Input `json:"__inputs"`
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []Panel `json:"panels"`
}

// Input is one of the values asked for at import.
type Input struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	PluginID string `json:"pluginId"`
}

// Panel is a panel, or a row (Type "row") whose Panels are those it holds
// while collapsed.
type Panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *Datasource `json:"datasource"`
	Targets    []Target    `json:"targets"`
	Panels     []Panel     `json:"panels"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
}

// Datasource is a reference to a data source.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is one query of a panel.
type Target struct {
	RefID        string      `json:"refId"`
	Expr         string      `json:"expr"`
	LegendFormat string      `json:"legendFormat"`
	Datasource   *Datasource `json:"datasource"`
}

// Query is one target's expression, named by its panel.
type Query struct {
	Panel, RefID, Expr string
}

// Load reads a dashboard and checks its shape: one Prometheus data source
// input that every panel and target uses, panels with unique ids and at
// least one query each (rows excepted), unique refIds within a panel, and
// every panel within Grafana's 24-column grid.
func Load(r io.Reader) (*Dashboard, error) {
	var d Dashboard
	dec := json.NewDecoder(r)
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("dashboard JSON: %w", err)
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

func (d *Dashboard) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if d.Title == "" || d.UID == "" || d.SchemaVersion <= 0 {
		bad("dashboard: title %q, uid %q, schemaVersion %d; want all three", d.Title, d.UID, d.SchemaVersion)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != DatasourceInput || d.Inputs[0].Type != "datasource" ||
		d.Inputs[0].PluginID != "prometheus" {
		bad("__inputs %+v: want one, %s, a datasource of plugin prometheus", d.Inputs, DatasourceInput)
	}
	ids := map[int]string{}
	panels := 0
	for p := range d.all() {
		if prev, dup := ids[p.ID]; dup || p.ID <= 0 {
			bad("panel %q: id %d (taken by %q, or not positive)", p.Title, p.ID, prev)
		}
		ids[p.ID] = p.Title
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			bad("panel %q: gridPos %+v outside the 24 columns", p.Title, g)
		}
		if p.Type == "row" {
			continue
		}
		panels++
		if p.Title == "" {
			bad("panel %d has no title", p.ID)
		}
		if !usesInput(p.Datasource) {
			bad("panel %q: datasource %+v, want the prometheus ${%s}", p.Title, p.Datasource, DatasourceInput)
		}
		if len(p.Targets) == 0 {
			bad("panel %q has no targets", p.Title)
		}
		refs := map[string]bool{}
		for _, t := range p.Targets {
			if t.RefID == "" || refs[t.RefID] {
				bad("panel %q: refId %q empty or repeated", p.Title, t.RefID)
			}
			refs[t.RefID] = true
			if strings.TrimSpace(t.Expr) == "" {
				bad("panel %q, target %s: no expr", p.Title, t.RefID)
			}
			if t.Datasource != nil && !usesInput(t.Datasource) {
				bad("panel %q, target %s: datasource %+v, want the prometheus ${%s}", p.Title, t.RefID, t.Datasource, DatasourceInput)
			}
		}
	}
	if panels == 0 {
		bad("dashboard has no panels")
	}
	return errors.Join(errs...)
}

func usesInput(ds *Datasource) bool {
	return ds != nil && ds.Type == "prometheus" && ds.UID == "${"+DatasourceInput+"}"
}

// all yields every panel, those inside collapsed rows included, in order.
func (d *Dashboard) all() func(yield func(*Panel) bool) {
	return func(yield func(*Panel) bool) {
		var walk func(ps []Panel) bool
		walk = func(ps []Panel) bool {
			for i := range ps {
				if !yield(&ps[i]) || !walk(ps[i].Panels) {
					return false
				}
			}
			return true
		}
		walk(d.Panels)
	}
}

// Queries returns every target's expression.
func (d *Dashboard) Queries() []Query {
	var qs []Query
	for p := range d.all() {
		for _, t := range p.Targets {
			qs = append(qs, Query{Panel: p.Title, RefID: t.RefID, Expr: t.Expr})
		}
	}
	return qs
}

// grafanaVar matches a Grafana variable in an expression: $name or
// ${name} (with an optional :format). A name starts with a letter or _:
// $1 is label_replace's first group.
var grafanaVar = regexp.MustCompile(`\$(\{[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}|[A-Za-z_][A-Za-z0-9_]*)`)

// intervals are the values Grafana's built-in interval variables stand
// for while an expression is parsed: any valid duration will do.
var intervals = map[string]string{"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}

// expand replaces Grafana's built-in interval variables, the only
// variables the dashboard's queries may use; any other is an error, as it
// would need a template variable that an import might not bring.
func expand(expr string) (string, error) {
	var unknown []string
	out := grafanaVar.ReplaceAllStringFunc(expr, func(v string) string {
		name := strings.Trim(v, "${}")
		name, _, _ = strings.Cut(name, ":")
		if d, ok := intervals[name]; ok {
			return d
		}
		unknown = append(unknown, v)
		return v
	})
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return "", fmt.Errorf("unknown Grafana variables %v (only %v)", slices.Compact(unknown), slices.Sorted(maps.Keys(intervals)))
	}
	return out, nil
}
