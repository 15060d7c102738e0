// Package distill is knowledge distillation: a student is trained to
// imitate a teacher's softened outputs (Hinton, Vinyals & Dean 2015), its
// intermediate features (hints, FitNets: Romero et al. 2015) or its
// attention maps (Zagoruyko & Komodakis 2017), mixed with the ordinary
// loss on the labels.
//
// The losses are GoMLX graph functions. The teacher's nodes pass through
// StopGradient in every one of them, so a train step never builds a
// gradient towards the teacher, whatever the caller does with it:
//
//	loss := distill.Combined(labels, studentLogits, teacherLogits, 4, 0.9)
//	loss = graph.Add(loss, graph.MulScalar(distill.Hint(studentFeat, teacherFeat), 0.5))
//
// The `distill` recipe stage (Stage) puts them into a run. Its teacher is
// a model an earlier stage trained, another run's model or a Lathe model
// file; with baseline it also trains the student alone on the same
// schedule and reports the fraction of the teacher–student error gap that
// distillation closed:
//
//	stages:
//	  - train: {epochs: 6, optimizer: {name: adam, learning_rate: 1e-3}}
//	  - distill:
//	      teacher: {stage: 1}              # or {run: <id or name>}, {file: teacher.safetensors}
//	      student: {arch: mlp, hidden: [800, 800]}
//	      temperature: 20
//	      alpha: 0.95                      # 0.95·T²·KL(teacher‖student) + 0.05·cross entropy
//	      hint: {teacher: features, student: features, weight: 1}
//	      baseline: true
//	      transfer_set: 2000               # the students learn from 2,000 images
//	      epochs: 60
//	      optimizer: {name: adam, learning_rate: 2e-3}
package distill
