// Package distill holds the losses of knowledge distillation, as GoMLX
// graph functions: a student is trained to imitate a teacher's softened
// outputs (Hinton, Vinyals & Dean 2015), its intermediate features (hints,
// FitNets: Romero et al. 2015), or its attention maps (Zagoruyko &
// Komodakis 2017), mixed with the ordinary loss on the labels.
//
// The teacher's nodes pass through StopGradient in every loss here, so a
// train step never builds a gradient towards the teacher, whatever the
// caller does with its variables.
//
// Example, inside a train step's loss:
//
//	loss := distill.Combined(labels, studentLogits, teacherLogits, 4, 0.9)
//	loss = graph.Add(loss, graph.MulScalar(distill.Hint(studentFeat, teacherFeat), 0.5))
package distill
