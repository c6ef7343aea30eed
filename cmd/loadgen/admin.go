package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// admin reads the server's own figures from its admin listener (PROTOCOL.md
// "HTTP"): /metrics and /arenas.
type admin struct {
	base string // http://HOST:PORT
	http *http.Client
}

func newAdmin(addr string) *admin {
	return &admin{base: "http://" + addr, http: &http.Client{}}
}

// serverSample is one scrape of /metrics: the figures a load run compares
// before and after.
type serverSample struct {
	At         time.Time
	RSS        float64 // process_resident_memory_bytes
	HeapInuse  float64 // go_memstats_heap_inuse_bytes
	CPUSeconds float64 // process_cpu_seconds_total
	// SystemCPUSeconds is the kernel's share of CPUSeconds
	// (shatter_process_cpu_seconds_total{mode="system"}); HasSystemCPU
	// says whether the server exports it.
	SystemCPUSeconds float64
	HasSystemCPU     bool
	Sessions         float64 // shatter_sessions
	Goroutines       float64 // go_goroutines
	BytesOut         float64 // shatter_bytes_out_total
	SnapsSkipped     float64 // shatter_snapshots_skipped_total
	Ticks            float64 // ticks of every arena (shatter_tick_seconds{system="total"} count)
	TicksUnder5ms    float64 // of which took at most 5 ms (the le="0.005" bucket)
	TickSecondsSum   float64
}

// tickGoal is the tick time DESIGN.md's load goal holds every tick under;
// it is one of shatter_tick_seconds' bucket bounds, so the share of ticks
// over it is exact.
const tickGoal = 0.005

func (a *admin) get(ctx context.Context, path string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("admin %s: %s", path, resp.Status)
	}
	return resp.Body, nil
}

// scrapeTimeout bounds a scrape of /metrics or /arenas.
const scrapeTimeout = 5 * time.Second

// sample scrapes /metrics.
func (a *admin) sample(ctx context.Context) (serverSample, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	body, err := a.get(ctx, "/metrics")
	if err != nil {
		return serverSample{}, err
	}
	defer body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(body)
	if err != nil {
		return serverSample{}, fmt.Errorf("admin /metrics: %w", err)
	}
	s := serverSample{At: time.Now()}
	value := func(name string) float64 {
		f := families[name]
		if f == nil || len(f.Metric) == 0 {
			return 0
		}
		m := f.Metric[0]
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
		return 0
	}
	s.RSS = value("process_resident_memory_bytes")
	s.HeapInuse = value("go_memstats_heap_inuse_bytes")
	s.CPUSeconds = value("process_cpu_seconds_total")
	if f := families["shatter_process_cpu_seconds_total"]; f != nil {
		for _, m := range f.Metric {
			if label(m, "mode") == "system" && m.Counter != nil {
				s.SystemCPUSeconds, s.HasSystemCPU = m.Counter.GetValue(), true
			}
		}
	}
	s.Sessions = value("shatter_sessions")
	s.Goroutines = value("go_goroutines")
	s.BytesOut = value("shatter_bytes_out_total")
	s.SnapsSkipped = value("shatter_snapshots_skipped_total")
	if f := families["shatter_tick_seconds"]; f != nil {
		for _, m := range f.Metric {
			if label(m, "system") != "total" || m.Histogram == nil {
				continue
			}
			h := m.Histogram
			s.Ticks += float64(h.GetSampleCount())
			s.TickSecondsSum += h.GetSampleSum()
			for _, b := range h.Bucket {
				if b.GetUpperBound() == tickGoal {
					s.TicksUnder5ms += float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return s, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// arenaStatus is one row of /arenas.
type arenaStatus struct {
	ID         int     `json:"id"`
	Tick       uint64  `json:"tick"`
	Sessions   int     `json:"sessions"`
	Population int     `json:"population"`
	TickP50Ms  float64 `json:"tick_p50_ms"`
	TickP99Ms  float64 `json:"tick_p99_ms"`
	TickMaxMs  float64 `json:"tick_max_ms"`
}

// arenas reads /arenas.
func (a *admin) arenas(ctx context.Context) ([]arenaStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	body, err := a.get(ctx, "/arenas")
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var out struct {
		Arenas []arenaStatus `json:"arenas"`
	}
	if err := json.NewDecoder(body).Decode(&out); err != nil {
		return nil, fmt.Errorf("admin /arenas: %w", err)
	}
	slices.SortFunc(out.Arenas, func(x, y arenaStatus) int { return x.ID - y.ID })
	return out.Arenas, nil
}

// download writes the admin endpoint at path (a pprof profile) to file,
// waiting at most timeout for it.
func (a *admin) download(ctx context.Context, path string, timeout time.Duration, file string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := a.get(ctx, path)
	if err != nil {
		return err
	}
	defer body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return fmt.Errorf("admin %s: %w", path, err)
	}
	return f.Close()
}

// cpuProfilePath is the admin path of a CPU profile over d.
func cpuProfilePath(d time.Duration) string {
	return "/debug/pprof/profile?seconds=" + strconv.Itoa(int(d.Seconds()))
}

// fleetNodes reads /fleet: the ids of the live nodes the server sees.
func (a *admin) fleetNodes(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	body, err := a.get(ctx, "/fleet")
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var out struct {
		Nodes []struct {
			ID string `json:"id"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(body).Decode(&out); err != nil {
		return nil, fmt.Errorf("admin /fleet: %w", err)
	}
	ids := make([]string, len(out.Nodes))
	for i, n := range out.Nodes {
		ids[i] = n.ID
	}
	return ids, nil
}
