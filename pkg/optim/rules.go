package optim

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// apply adds one variable's update to the graph, following PyTorch's
// torch.optim implementations (1.13) step for step; lamb follows You et
// al. 2020 (Algorithm 2, with the bias-corrected moments), lion follows Chen
// et al. 2023 (lucidrains/lion-pytorch).
//
// skip (nil or a boolean scalar) keeps every value unchanged when true.
// step is the optimizer's step count (1 on the first update), lr the
// scheduled learning rate, both scalars of the gradient's dtype.
func (o *Optimizer) apply(ctx *context.Context, g *graph.Graph, v *context.Variable, grad, lr, step, skip *graph.Node) {
	c := o.cfg
	p := v.ValueGraph(g)
	dtype := p.DType()
	scalar := func(x float64) *graph.Node { return graph.Scalar(g, dtype, x) }
	lr = graph.ConvertDType(lr, dtype)
	step = graph.ConvertDType(step, dtype)
	grad = graph.ConvertDType(grad, dtype)
	coupledDecay := func() {
		if c.WeightDecay > 0 {
			grad = graph.Add(grad, graph.MulScalar(p, c.WeightDecay))
		}
	}
	update := func(name string, value *graph.Node) *graph.Node {
		st := o.state(ctx, v, name, 0)
		st.SetValueGraph(keep(skip, st.ValueGraph(g), value))
		return value
	}
	read := func(name string, init float64) *graph.Node {
		return o.state(ctx, v, name, init).ValueGraph(g)
	}
	b1, b2 := c.Betas[0], c.Betas[1]

	var next *graph.Node
	switch c.Name {
	case "sgd":
		coupledDecay()
		if c.Momentum > 0 {
			buf := read("momentum_buffer", 0)
			// PyTorch starts the buffer at the first gradient, undamped.
			later := graph.Add(graph.MulScalar(buf, c.Momentum), graph.MulScalar(grad, 1-c.Dampening))
			buf = update("momentum_buffer", graph.Where(graph.Equal(step, scalar(1)), grad, later))
			if c.Nesterov {
				grad = graph.Add(grad, graph.MulScalar(buf, c.Momentum))
			} else {
				grad = buf
			}
		}
		next = graph.Sub(p, graph.Mul(lr, grad))

	case "adagrad":
		coupledDecay()
		clr := graph.Div(lr, graph.OnePlus(graph.MulScalar(graph.SubScalar(step, 1), c.LRDecay)))
		sum := update("sum", graph.Add(read("sum", c.InitialAccumulatorValue), graph.Square(grad)))
		next = graph.Sub(p, graph.Mul(clr, graph.Div(grad, graph.AddScalar(graph.Sqrt(sum), c.Eps))))

	case "rmsprop":
		coupledDecay()
		sq := update("square_avg", graph.Add(graph.MulScalar(read("square_avg", 0), c.Alpha), graph.MulScalar(graph.Square(grad), 1-c.Alpha)))
		var avg *graph.Node
		if c.Centered {
			ga := update("grad_avg", graph.Add(graph.MulScalar(read("grad_avg", 0), c.Alpha), graph.MulScalar(grad, 1-c.Alpha)))
			avg = graph.AddScalar(graph.Sqrt(graph.Sub(sq, graph.Square(ga))), c.Eps)
		} else {
			avg = graph.AddScalar(graph.Sqrt(sq), c.Eps)
		}
		if c.Momentum > 0 {
			buf := update("momentum_buffer", graph.Add(graph.MulScalar(read("momentum_buffer", 0), c.Momentum), graph.Div(grad, avg)))
			next = graph.Sub(p, graph.Mul(lr, buf))
		} else {
			next = graph.Sub(p, graph.Mul(lr, graph.Div(grad, avg)))
		}

	case "adam", "adamw":
		if c.Name == "adamw" {
			p = graph.Mul(p, graph.OneMinus(graph.MulScalar(lr, c.WeightDecay)))
		} else {
			coupledDecay()
		}
		m := update("exp_avg", graph.Add(graph.MulScalar(read("exp_avg", 0), b1), graph.MulScalar(grad, 1-b1)))
		vv := update("exp_avg_sq", graph.Add(graph.MulScalar(read("exp_avg_sq", 0), b2), graph.MulScalar(graph.Square(grad), 1-b2)))
		bc1 := graph.OneMinus(graph.Pow(scalar(b1), step))
		bc2 := graph.OneMinus(graph.Pow(scalar(b2), step))
		if c.AMSGrad {
			vv = update("max_exp_avg_sq", graph.Max(read("max_exp_avg_sq", 0), vv))
		}
		denom := graph.AddScalar(graph.Div(graph.Sqrt(vv), graph.Sqrt(bc2)), c.Eps)
		next = graph.Sub(p, graph.Mul(graph.Div(lr, bc1), graph.Div(m, denom)))

	case "lamb":
		m := update("exp_avg", graph.Add(graph.MulScalar(read("exp_avg", 0), b1), graph.MulScalar(grad, 1-b1)))
		vv := update("exp_avg_sq", graph.Add(graph.MulScalar(read("exp_avg_sq", 0), b2), graph.MulScalar(graph.Square(grad), 1-b2)))
		mHat := graph.Div(m, graph.OneMinus(graph.Pow(scalar(b1), step)))
		vHat := graph.Div(vv, graph.OneMinus(graph.Pow(scalar(b2), step)))
		r := graph.Div(mHat, graph.AddScalar(graph.Sqrt(vHat), c.Eps))
		if c.WeightDecay > 0 {
			r = graph.Add(r, graph.MulScalar(p, c.WeightDecay))
		}
		// Trust ratio ‖p‖/‖r‖ per tensor, 1 when either norm is 0.
		pNorm, rNorm := graph.Sqrt(graph.ReduceAllSum(graph.Square(p))), graph.Sqrt(graph.ReduceAllSum(graph.Square(r)))
		positive := graph.LogicalAnd(graph.GreaterThan(pNorm, scalar(0)), graph.GreaterThan(rNorm, scalar(0)))
		trust := graph.Where(positive, graph.Div(pNorm, graph.Where(positive, rNorm, scalar(1))), scalar(1))
		next = graph.Sub(p, graph.Mul(graph.Mul(lr, trust), r))

	case "lion":
		if c.WeightDecay > 0 {
			p = graph.Mul(p, graph.OneMinus(graph.MulScalar(lr, c.WeightDecay)))
		}
		m := read("exp_avg", 0)
		direction := graph.Sign(graph.Add(graph.MulScalar(m, b1), graph.MulScalar(grad, 1-b1)))
		update("exp_avg", graph.Add(graph.MulScalar(m, b2), graph.MulScalar(grad, 1-b2)))
		next = graph.Sub(p, graph.Mul(lr, direction))
	}
	v.SetValueGraph(keep(skip, v.ValueGraph(g), next))
}
