package dashboard

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is a scrape of /metrics as Prometheus stores it: each series name
// (a histogram's name_bucket, name_sum and name_count; a summary's name,
// name_sum and name_count) with its series.
type Scrape map[string][]Series

// Series is one sample of a scrape.
type Series struct {
	Labels map[string]string
	Value  float64
}

// Sum adds up the values of every series of a name (0 if it has none).
func (s Scrape) Sum(name string) float64 {
	total := 0.0
	for _, x := range s[name] {
		total += x.Value
	}
	return total
}

// targetLabels are the labels Prometheus adds to every scraped series, so
// that a query may match or group by them though /metrics never shows
// them.
var targetLabels = []string{"instance", "job"}

// ParseScrape reads /metrics in the text exposition format.
func ParseScrape(r io.Reader) (Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("/metrics: %w", err)
	}
	s := Scrape{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			ls := map[string]string{}
			for _, l := range m.GetLabel() {
				ls[l.GetName()] = l.GetValue()
			}
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					s.add(name+"_bucket", with(ls, "le", formatFloat(b.GetUpperBound())), float64(b.GetCumulativeCount()))
				}
				s.add(name+"_sum", ls, h.GetSampleSum())
				s.add(name+"_count", ls, float64(h.GetSampleCount()))
			case dto.MetricType_SUMMARY:
				sm := m.GetSummary()
				for _, q := range sm.GetQuantile() {
					s.add(name, with(ls, "quantile", formatFloat(q.GetQuantile())), q.GetValue())
				}
				s.add(name+"_sum", ls, sm.GetSampleSum())
				s.add(name+"_count", ls, float64(sm.GetSampleCount()))
			case dto.MetricType_COUNTER:
				s.add(name, ls, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				s.add(name, ls, m.GetGauge().GetValue())
			default:
				s.add(name, ls, m.GetUntyped().GetValue())
			}
		}
	}
	return s, nil
}

func (s Scrape) add(name string, ls map[string]string, v float64) {
	s[name] = append(s[name], Series{Labels: ls, Value: v})
}

// formatFloat spells a bucket bound or a quantile as Prometheus does in
// its le and quantile labels.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func with(ls map[string]string, name, value string) map[string]string {
	out := make(map[string]string, len(ls)+1)
	for k, v := range ls {
		out[k] = v
	}
	out[name] = value
	return out
}

// Check checks every query of d against a scrape: each selector's metric
// has series, at least one of which its matchers select (matchers on
// instance and job, which Prometheus adds, always pass), and each label
// the query groups or matches by is on one of the series it selects or is
// instance or job. It returns one error per query that fails, naming its
// panel.
func Check(d *Dashboard, s Scrape) error {
	var errs []error
	for _, q := range d.Queries() {
		if err := checkQuery(q.Expr, s); err != nil {
			errs = append(errs, fmt.Errorf("panel %q, query %s: %w", q.Panel, q.RefID, err))
		}
	}
	return errors.Join(errs...)
}

func checkQuery(expr string, s Scrape) error {
	u, err := Parse(expr)
	if err != nil {
		return err
	}
	var errs []error
	have := slices.Clone(targetLabels)
	for _, sel := range u.Selectors {
		series, ok := s[sel.Metric]
		if !ok {
			errs = append(errs, fmt.Errorf("metric %s is not in /metrics", sel.Metric))
			continue
		}
		matched := false
		for _, x := range series {
			for name := range x.Labels {
				have = append(have, name)
			}
			matched = matched || selects(sel, x.Labels)
		}
		if !matched {
			errs = append(errs, fmt.Errorf("no series of %s has %s", sel.Metric, matchersString(sel)))
		}
	}
	for _, l := range u.Labels {
		if !slices.Contains(have, l) {
			errs = append(errs, fmt.Errorf("label %q, grouped or matched by, is on none of the series selected", l))
		}
	}
	return errors.Join(errs...)
}

// selects reports whether a series of sel's metric passes its matchers.
func selects(sel Selector, ls map[string]string) bool {
	for _, m := range sel.Matchers {
		if slices.Contains(targetLabels, m.Name) {
			continue
		}
		if !m.Matches(ls[m.Name]) { // an absent label is ""
			return false
		}
	}
	return true
}

func matchersString(sel Selector) string {
	parts := make([]string, len(sel.Matchers))
	for i, m := range sel.Matchers {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
