package dashboard

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseFindsMetricsMatchersAndGroupingLabels(t *testing.T) {
	u, err := Parse(`histogram_quantile(0.99, sum by (le, instance, arena) (rate(shatter_tick_seconds_bucket{system="total"}[$__rate_interval])))
		* on (instance) group_left (node) shatter_node_info
		or label_replace(sum without (why) (increase({__name__="shatter_fleet_moves_total", why=~"full|drain"}[${__range}])), "x", "$1", "instance", "(.*)")`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range u.Selectors {
		m := s.Metric
		for _, x := range s.Matchers {
			m += " " + x.String()
		}
		got = append(got, m)
	}
	want := []string{`shatter_tick_seconds_bucket system="total"`, "shatter_node_info", `shatter_fleet_moves_total why=~"full|drain"`}
	if !slices.Equal(got, want) {
		t.Errorf("selectors %q, want %q", got, want)
	}
	// Function names, keywords, numbers, strings and durations are not
	// metrics; by, without, on and group_left name labels.
	if want := []string{"arena", "instance", "le", "node", "why"}; !slices.Equal(u.Labels, want) {
		t.Errorf("labels %q, want %q", u.Labels, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for expr, want := range map[string]string{
		`rate(x_total[$window])`:       "unknown Grafana variables [$window]",
		`sum(rate(x_total[5m])`:        "PromQL",
		`{job="shatter"}`:              "names no metric",
		`x_total{node="$node"} + $k`:   "unknown Grafana variables [$k $node]",
		`rate(x_total[${__interval}])`: "",
	} {
		_, err := Parse(expr)
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q): %v, want %q", expr, err, want)
		}
	}
}

const exposition = `# HELP shatter_session_closes_total Sessions ended, by reason.
# TYPE shatter_session_closes_total counter
shatter_session_closes_total{reason="client_closed"} 3
# HELP shatter_sessions Open WebSocket sessions.
# TYPE shatter_sessions gauge
shatter_sessions 2
# HELP shatter_tick_seconds Duration of arena ticks.
# TYPE shatter_tick_seconds histogram
shatter_tick_seconds_bucket{arena="0",system="total",le="0.001"} 5
shatter_tick_seconds_bucket{arena="0",system="total",le="+Inf"} 6
shatter_tick_seconds_sum{arena="0",system="total"} 0.004
shatter_tick_seconds_count{arena="0",system="total"} 6
`

func TestCheckAgainstAScrape(t *testing.T) {
	s, err := ParseScrape(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sum("shatter_tick_seconds_count"); got != 6 {
		t.Errorf("tick count %v, want 6", got)
	}
	if got := s.Sum("shatter_session_closes_total") + s.Sum("shatter_sessions"); got != 5 {
		t.Errorf("closes + sessions %v, want 5", got)
	}
	for expr, want := range map[string]string{
		`shatter_tick_seconds_bucket{le="+Inf"} - shatter_tick_seconds_bucket{le="0.001"}`:                     "",
		`sum by (reason) (rate(shatter_session_closes_total[5m]))`:                                             "",
		`sum by (instance) (shatter_sessions)`:                                                                 "",
		`histogram_quantile(0.99, sum by (le, arena) (rate(shatter_tick_seconds_bucket{system="total"}[1m])))`: "",
		`shatter_tick_seconds_sum{instance="a:1"} / shatter_tick_seconds_count`:                                "",
		`rate(shatter_session_closes_total{reason="kicked"}[5m])`:                                              `no series of shatter_session_closes_total has {reason="kicked"}`,
		`shatter_tick_seconds_bucket{system="input"}`:                                                          `no series of shatter_tick_seconds_bucket`,
		`shatter_tick_seconds`:             "metric shatter_tick_seconds is not in /metrics",
		`shatter_bytes_out_total`:          "metric shatter_bytes_out_total is not in /metrics",
		`sum by (node) (shatter_sessions)`: `label "node"`,
	} {
		d := &Dashboard{Panels: []Panel{{ID: 1, Title: "p", Targets: []Target{{RefID: "A", Expr: expr}}}}}
		err := Check(d, s)
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%q): %v, want %q", expr, err, want)
		}
	}
}

const panelJSON = `{"id": %d, "type": "timeseries", "title": "t%d", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
	"datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
	"targets": [{"refId": "A", "expr": "shatter_sessions"}]}`

func TestLoadChecksTheShape(t *testing.T) {
	good := `{"__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}],
		"uid": "shatter", "title": "Shatter", "schemaVersion": 39, "panels": [
		{"id": 1, "type": "row", "title": "r", "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0}, "panels": [PANEL2]},
		PANEL3]}`
	panel := func(id int) string { return fmt.Sprintf(panelJSON, id, id) }
	fill := func(s string) string {
		return strings.NewReplacer("PANEL2", panel(2), "PANEL3", panel(3)).Replace(s)
	}
	d, err := Load(strings.NewReader(fill(good)))
	if err != nil {
		t.Fatal(err)
	}
	if q := d.Queries(); len(q) != 2 || q[0].Panel != "t2" || q[1].Panel != "t3" {
		t.Fatalf("queries %+v, want t2's (in the collapsed row) and t3's", q)
	}
	for name, c := range map[string]struct{ old, new, want string }{
		"repeated id":      {"PANEL3", panel(2), "id 2"},
		"other datasource": {"PANEL3", strings.Replace(panel(3), "${DS_PROMETHEUS}", "prom-1", 1), "datasource"},
		"no targets":       {"PANEL3", strings.Replace(panel(3), `[{"refId": "A", "expr": "shatter_sessions"}]`, "[]", 1), "no targets"},
		"empty expr":       {"PANEL3", strings.Replace(panel(3), `"expr": "shatter_sessions"`, `"expr": " "`, 1), "no expr"},
		"no input":         {`"__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}],`, "", "__inputs"},
		"too wide":         {`"w": 24`, `"w": 25`, "24 columns"},
		"not JSON":         {"{", "[", "dashboard JSON"},
	} {
		_, err := Load(strings.NewReader(fill(strings.Replace(good, c.old, c.new, 1))))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
}
