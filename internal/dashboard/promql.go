package dashboard

import (
	"fmt"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Selector is one vector selector of an expression: a metric name and the
// matchers on its other labels.
type Selector struct {
	Metric   string
	Matchers []*labels.Matcher
}

// Use is what an expression reads: the series it selects and the label
// names it groups or matches by (by, without, on, ignoring, group_left,
// group_right), each of which must be on some series it selects.
type Use struct {
	Selectors []Selector
	Labels    []string
}

// promql parses with the standard function set, experimental ones refused:
// a dashboard should work on any Prometheus.
var promql = parser.NewParser(parser.Options{})

// Parse parses a dashboard expression (Grafana's interval variables
// allowed) and returns what it reads. A selector without a metric name is
// an error: a dashboard's queries name their metrics.
func Parse(expr string) (Use, error) {
	src, err := expand(expr)
	if err != nil {
		return Use{}, err
	}
	root, err := promql.ParseExpr(src)
	if err != nil {
		return Use{}, fmt.Errorf("PromQL: %w", err)
	}
	var u Use
	var walkErr error
	parser.Inspect(root, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			s := Selector{Metric: n.Name}
			for _, m := range n.LabelMatchers {
				if m.Name != model.MetricNameLabel {
					s.Matchers = append(s.Matchers, m)
				} else if s.Metric == "" && m.Type == labels.MatchEqual {
					s.Metric = m.Value // {__name__="x"}
				}
			}
			if s.Metric == "" && walkErr == nil {
				walkErr = fmt.Errorf("selector %s names no metric", n)
			}
			u.Selectors = append(u.Selectors, s)
		case *parser.AggregateExpr:
			u.Labels = append(u.Labels, n.Grouping...)
		case *parser.BinaryExpr:
			if vm := n.VectorMatching; vm != nil {
				u.Labels = append(u.Labels, vm.MatchingLabels...)
				u.Labels = append(u.Labels, vm.Include...)
			}
		}
		return nil
	})
	if walkErr != nil {
		return Use{}, walkErr
	}
	slices.Sort(u.Labels)
	u.Labels = slices.Compact(u.Labels)
	return u, nil
}
