package report

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestMissedByAHairShowsTheDigits (issue 29): a figure that misses its
// target is printed with the decimals that show it missed, not rounded
// onto the target ("shrank by 50%, not the 50% claimed").
func TestMissedByAHairShowsTheDigits(t *testing.T) {
	for _, c := range []struct {
		bytes float64 // the combined file of the 400,000-byte baseline
		want  string
	}{
		{202000, "shrank by 49.5%, not the 50% claimed"},     // 1 − 202000/400000 = 0.495
		{200004, "shrank by 49.999%, not the 50% claimed"},   // 1 − 0.50001 = 0.49999: 50, 50.0, 50.00 at fewer decimals
		{200000.4, "shrank by 49.999%, not the 50% claimed"}, // 49.9999%: rounded down, not up onto 50.000
		{250000, "shrank by 38%, not the 50% claimed"},       // 37.5%: whole percents already differ
	} {
		tr := seedLike()
		tr.Variants[3].Bytes = c.bytes
		size := claim(t, tr, "size")
		if size.Met || !strings.Contains(size.Why, c.want) {
			t.Errorf("%v bytes: %q, want not met and %q", c.bytes, size.Why, c.want)
		}
	}
	// Accuracy 90% → 88.996%: a 1.004 pp drop, over the 1 pp allowed.
	tr := seedLike()
	tr.Variants[3].Accuracy = 0.88996
	if size := claim(t, tr, "size"); size.Met || !strings.Contains(size.Why, "fell 1.004 pp, more than the 1.0 pp") {
		t.Errorf("a 1.004 pp drop: %+v", size)
	}
	// 10 ms → 2.0004 ms is 4.9990× (a 79.996% cut), short of the 5× that −80% needs.
	tr = seedLike()
	tr.Variants[3].RuntimeMs64 = 2.0004
	if inf := claim(t, tr, "inference"); inf.Met || !strings.Contains(inf.Why, "needs 5.0× at batch 64 and the combined model reached 4.999×") {
		t.Errorf("4.999× against 5×: %+v", inf)
	}
}

// TestHighAccuracyNeedsABaselineAboveChance (issue 29): a baseline at
// chance makes "kept its accuracy" meaningless; the size claim says so
// instead of "met".
func TestHighAccuracyNeedsABaselineAboveChance(t *testing.T) {
	atChance := func(base, comb float64, classes int) Claim {
		tr := seedLike()
		tr.Classes = classes
		tr.Variants[0].Accuracy, tr.Variants[3].Accuracy = base, comb
		return claim(t, tr, "size")
	}
	// 10 classes on 10,000 examples: chance is 10%, the margin 1 pp
	// (3·√(0.1·0.9/10000) = 0.9 pp is less).
	want := `The baseline (9.80%) is no better than chance (10% for 10 classes), so no accuracy is "high".`
	if c := atChance(0.098, 0.098, 10); c.Met || c.Verdict() != "NOT met" || c.Why != want || !strings.Contains(c.Detail, "(+0.00 pp)") {
		t.Errorf("baseline at 9.8%% of 10 classes: %s\nwant the Why %q", c.Line(), want)
	}
	if c := atChance(0.109, 0.105, 10); c.Met {
		t.Errorf("baseline at 10.9%% (within 1 pp of chance): %s", c.Line())
	}
	if c := atChance(0.12, 0.115, 10); !c.Met {
		t.Errorf("baseline at 12%% (2 pp above chance), combined 0.5 pp below: %s", c.Line())
	}
	// 2 classes on 10,000: chance 50%, margin 3·√(0.25/10000) = 1.5 pp.
	if c := atChance(0.514, 0.514, 2); c.Met || !strings.Contains(c.Why, "no better than chance (50% for 2 classes)") {
		t.Errorf("baseline at 51.4%% of 2 classes: %s", c.Line())
	}
	if c := atChance(0.516, 0.516, 2); !c.Met {
		t.Errorf("baseline at 51.6%% of 2 classes: %s", c.Line())
	}
	// Classes unknown (a report written before they were recorded): no verdict on chance.
	if c := atChance(0.098, 0.098, 0); !c.Met {
		t.Errorf("classes unknown: %s", c.Line())
	}
	// The count survives report.json.
	tr := seedLike()
	tr.Classes = 10
	tr.Variants[0].Accuracy, tr.Variants[3].Accuracy = 0.098, 0.098
	data, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var back Tradeoff
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if c := claim(t, &back, "size"); back.Classes != 10 || c.Met || c.Why != want {
		t.Errorf("after report.json: classes %d, %s", back.Classes, c.Line())
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, &back); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "NOT met.") || !strings.Contains(md.String(), "no better than chance") {
		t.Errorf("report.md does not carry the verdict:\n%s", md.String())
	}
}
