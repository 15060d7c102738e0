package nbui

import (
	"fmt"
	"html"
	"strings"

	"github.com/lathe-ml/lathe/pkg/recipe"
)

// Validate parses recipe text written in a notebook (name is the file name
// errors give, e.g. "my-recipe.yaml") and shows either what the recipe will
// do or its first mistake, one line naming the place — the same message
// `lathe run` gives, before any work starts.
func Validate(name, text string) (*recipe.Recipe, error) {
	rec, err := recipe.Parse(name, []byte(text))
	if err != nil {
		showError(err)
		return nil, err
	}
	var stages []string
	for _, st := range rec.Stages {
		stages = append(stages, st.String())
	}
	hidden := ""
	if len(rec.Model.Hidden) > 0 && rec.Model.Arch == "mlp" {
		hidden = fmt.Sprint(rec.Model.Hidden)
	}
	msg := fmt.Sprintf("ok: %s — %s, %s%s, batch %d; %s", rec.Name, rec.Data.Dataset, rec.Model.Arch, hidden,
		rec.Data.BatchSize, strings.Join(stages, ", then "))
	if n := len(rec.Variants); n > 0 {
		msg += fmt.Sprintf("; %d variants", n)
	}
	display().Show(Output{Text: msg, HTML: `<pre style="color:#060;white-space:pre-wrap">` + html.EscapeString(msg) + "</pre>"})
	return rec, nil
}
