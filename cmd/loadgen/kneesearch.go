package main

// The knee search's rule, apart from what a probe does so that tests can
// drive it with a fake one.

// kneeGrain rounds the counts a bisection probes, so that they read well
// in the report.
const kneeGrain = 50

// kneeResolution is the gap between the largest passing count and the
// smallest failing one at which the bisection stops: 100 clients or 4%
// of the failing count, whichever is larger. Fine enough to tell a knee
// from a goal a few percent away (10% could not: a knee 2% short of a
// goal and one 8% past it read the same), at a probe or two more.
func kneeResolution(fail int) int {
	return max(kneeMinGap, fail*kneeGapPercent/100)
}

// The bisection's resolution: kneeMinGap clients or kneeGapPercent of the
// failing count.
const (
	kneeMinGap     = 100
	kneeGapPercent = 4
)

// kneeSearch chooses the client counts of a knee search: start, then
// doubling (never past limit) until a probe fails, then bisecting between
// the largest count that passed and the smallest that failed until they
// are within kneeResolution; at most maxProbes probes in all. A search
// whose first probe fails bisects between 0 and it.
type kneeSearch struct {
	start, limit, maxProbes int

	pass   int // the largest count that passed; 0 before any
	fail   int // the smallest count that failed; 0 before any
	probes int
}

func newKneeSearch(start, limit, maxProbes int) *kneeSearch {
	return &kneeSearch{start: start, limit: max(start, limit), maxProbes: maxProbes}
}

// next returns the count to probe next, or false when the search is over.
func (s *kneeSearch) next() (int, bool) {
	switch {
	case s.probes >= s.maxProbes:
		return 0, false
	case s.probes == 0:
		return s.start, true
	case s.fail == 0: // growing
		if s.pass >= s.limit {
			return 0, false
		}
		return min(2*s.pass, s.limit), true
	case s.fail-s.pass <= kneeResolution(s.fail):
		return 0, false
	}
	mid := (s.pass + s.fail) / 2
	mid = (mid + kneeGrain/2) / kneeGrain * kneeGrain
	if mid <= s.pass || mid >= s.fail {
		mid = (s.pass + s.fail) / 2
	}
	if mid <= s.pass || mid >= s.fail {
		return 0, false
	}
	return mid, true
}

// record takes a probe's outcome.
func (s *kneeSearch) record(clients int, pass bool) {
	s.probes++
	switch {
	case pass:
		s.pass = max(s.pass, clients)
	case s.fail == 0 || clients < s.fail:
		s.fail = clients
	}
}

// knee returns the largest count that passed (0 if none did), and whether
// the search found the count that failed above it within the resolution:
// false when it ran out of probes first or every count up to its limit
// passed, so that the knee is a lower bound.
func (s *kneeSearch) knee() (clients int, bracketed bool) {
	return s.pass, s.fail > 0 && s.fail-s.pass <= kneeResolution(s.fail)
}

// runKneeSearch drives s with probe until s is over or probe fails to
// run, and returns that error.
func runKneeSearch(s *kneeSearch, probe func(clients int) (pass bool, err error)) error {
	for {
		clients, ok := s.next()
		if !ok {
			return nil
		}
		pass, err := probe(clients)
		if err != nil {
			return err
		}
		s.record(clients, pass)
	}
}
