//! Maximum likelihood over positive parameters: L-BFGS (argmin) on their logarithms, from
//! several starting points.
//!
//! Optimizing `θ = ln(parameter)` keeps every parameter positive without constraints; the
//! objective is the *mean* negative log-likelihood per customer, so that tolerances do not
//! depend on the size of the workspace. Each start runs independently; a start whose run
//! fails (a line search that meets a non-finite value, say) is skipped, and the best of the
//! others is kept. The result is accepted when its gradient is small and no parameter has run
//! off towards 0 or infinity.

use std::cell::RefCell;

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

use super::FitError;

/// Iterations per start.
const MAX_ITERS: u64 = 1_000;

/// Largest accepted gradient norm of the mean log-likelihood in log-parameters.
const GRADIENT_TOLERANCE: f64 = 1e-4;

/// A parameter whose logarithm leaves `±LOG_BOUND` (about 10^±13) is taken as unidentified.
const LOG_BOUND: f64 = 30.0;

/// A log-likelihood over positive parameters.
pub(super) trait LogLikelihood {
    /// Parameter names, for errors.
    const NAMES: &'static [&'static str];

    /// The log-likelihood of the data and its gradient with respect to the parameters.
    fn value_and_gradient(&self, params: &[f64]) -> (f64, Vec<f64>);

    /// Number of customers (the sum of the weights).
    fn customers(&self) -> f64;
}

/// The maximum found.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Maximum {
    /// The parameters (positive).
    pub params: Vec<f64>,
}

/// The objective of one run; argmin asks for the cost and the gradient of the same point
/// separately, so the last evaluation is kept.
struct Objective<'a, M> {
    model: &'a M,
    last: RefCell<Option<Evaluation>>,
}

type Evaluation = (Vec<f64>, f64, Vec<f64>);

impl<'a, M: LogLikelihood> Objective<'a, M> {
    fn new(model: &'a M) -> Self {
        Self {
            model,
            last: RefCell::new(None),
        }
    }

    /// The mean negative log-likelihood at `theta` (log-parameters) and its gradient.
    fn evaluate(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        if let Some((at, cost, grad)) = self.last.borrow().as_ref()
            && at.as_slice() == theta
        {
            return (*cost, grad.clone());
        }
        let params: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
        let (ll, grad) = self.model.value_and_gradient(&params);
        let n = self.model.customers();
        // d(−ℓ/n)/dθ = −(∂ℓ/∂p · p)/n
        let grad: Vec<f64> = grad.iter().zip(&params).map(|(g, p)| -g * p / n).collect();
        let cost = -ll / n;
        *self.last.borrow_mut() = Some((theta.to_vec(), cost, grad.clone()));
        (cost, grad)
    }
}

impl<M: LogLikelihood> CostFunction for Objective<'_, M> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, theta: &Self::Param) -> Result<f64, argmin::core::Error> {
        let (cost, _) = self.evaluate(theta);
        // argmin's line search copes with +∞ (it backtracks), not with NaN.
        Ok(if cost.is_nan() { f64::INFINITY } else { cost })
    }
}

impl<M: LogLikelihood> Gradient for Objective<'_, M> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, theta: &Self::Param) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.evaluate(theta).1)
    }
}

/// The maximum likelihood estimate, from each of `starts` (positive parameters).
pub(super) fn maximize<M: LogLikelihood>(model: &M, starts: &[Vec<f64>]) -> Result<Maximum, FitError> {
    let mut best: Option<(f64, Vec<f64>)> = None;
    let mut failures = Vec::new();
    for start in starts {
        let theta0: Vec<f64> = start.iter().map(|p| p.ln()).collect();
        match run(Objective::new(model), theta0) {
            Ok((cost, theta)) if cost.is_finite() => {
                if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                    best = Some((cost, theta));
                }
            }
            Ok((cost, _)) => failures.push(format!("cost {cost}")),
            Err(e) => failures.push(e),
        }
    }
    let Some((_, theta)) = best else {
        return Err(FitError::NotConverged(format!(
            "no start converged: {}",
            failures.join("; ")
        )));
    };
    for (name, t) in M::NAMES.iter().zip(&theta) {
        if t.abs() > LOG_BOUND {
            return Err(FitError::Degenerate {
                parameter: name,
                value: t.exp(),
            });
        }
    }
    let (_, gradient) = Objective::new(model).evaluate(&theta);
    let norm = gradient.iter().map(|g| g * g).sum::<f64>().sqrt();
    if norm.is_nan() || norm > GRADIENT_TOLERANCE {
        return Err(FitError::NotConverged(format!(
            "gradient norm {norm:e} at the best point"
        )));
    }
    Ok(Maximum {
        params: theta.iter().map(|t| t.exp()).collect(),
    })
}

fn run<M: LogLikelihood>(objective: Objective<'_, M>, theta0: Vec<f64>) -> Result<(f64, Vec<f64>), String> {
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-9)
        .and_then(|s| s.with_tolerance_cost(1e-15))
        .map_err(|e| e.to_string())?;
    let result = Executor::new(objective, solver)
        .configure(|state| state.param(theta0).max_iters(MAX_ITERS))
        .timer(false)
        .run()
        .map_err(|e| e.to_string())?;
    let state = result.state();
    let theta = state.get_best_param().cloned().ok_or("no parameters")?;
    Ok((state.get_best_cost(), theta))
}
