package results

// Panel is a dashboard chart a kind brings, as data the dashboard draws
// in one of a few ways: curves of series, a headline curve over bars of a
// family's latest values, a table of a stage's results, or the phases of
// one training drawn from their own starts. Exactly one of Curves, Bars,
// Table, Phases is set.
type Panel struct {
	Title string
	// Rank places the panel among all kinds' panels (lower first; the
	// loss chart is 10 and accuracy 30).
	Rank int
	// Curves: these series (names or families) as curves on one chart.
	Curves []string
	Bars   *Bars
	Table  *Table
	Phases *Phases
}

// Bars is a headline series as a curve with a family's latest values as
// one bar per member beneath it (a sparsity per layer: a ResNet's twenty
// layers cannot be told apart as curves), and "Left of Of" beside the
// title (weights left of all).
type Bars struct {
	Total, Members, Left, Of string
}

// Table shows a stage's results: headline lines, then a row per member of
// the Columns' families (a layer). Marker is a result only this kind
// records, by which the dashboard finds its newest stage (else the run's
// final metrics); Note heads the table, followed by the rows counted in
// RowsName and each NoteItem that is present and positive.
type Table struct {
	Marker    string
	Note      string
	RowsName  string // "layer": "3 layers"
	NoteItems []NoteItem
	Lines     []Line
	Columns   []TableColumn
}

// NoteItem is a result shown in a table's note: "12 QAT ranges".
type NoteItem struct {
	Name, Label string
	Format      Format
}

// Line is a headline of a table: Text with {name} placeholders replaced
// by the results' values in their declared formats ("-" for a missing
// one). A line whose Needs are all missing is left out. With PerSplit,
// the line repeats for each split the results hold a Needs[0]-shaped
// result of, {split} standing for it.
type Line struct {
	Text     string
	Needs    []string
	PerSplit bool
}

// TableColumn is a table column: the family's value for the row.
type TableColumn struct {
	Title, Family string
	Format        Format
	// Pair shows the column only with the next one (a range's two ends).
	Pair bool
}

// Phases draws one training's phases from their own starts, so the eye
// compares them at the same point of the same schedule: a distillation's
// student alone (series under Prefix), then taught (no prefix), and its
// teacher's training when TeacherStage names the stage that trained it
// (else a level at the teacher's accuracy, the TeacherLevel result). Metric
// is compared, Start marks each phase's first step, Gap notes the gap
// closed.
type Phases struct {
	Prefix       string
	Metrics      []string // the first the run has: validation_accuracy, train_accuracy
	Start        string   // train_loss
	TeacherStage string
	TeacherLevel string // teacher_{split}_accuracy
	Gap          string
	Labels       [3]string // teacher, alone, taught
}
