"""Each candidate's own learning rate inside one stack."""
import torch


# Optimizers whose step, from a state that is itself linear in the gradients, is linear in the
# gradient, with the settings under which it is: scaling a member's loss by s then scales its step
# by s, as a rate s times the reference would (SGD with momentum, dampening or Nesterov; not with
# weight decay, which adds a term that the loss does not scale).
LINEAR_IN_GRADIENT = {torch.optim.SGD: lambda settings: not settings.get("weight_decay")}


class MemberRates:
    """Each candidate's own learning rate in a stack whose optimizer is built at a reference rate.

    With an optimizer of `LINEAR_IN_GRADIENT`, each candidate's loss is scaled by its rate over
    the reference (``loss_scale``, applied by the training loop). Otherwise each step is rescaled
    after the optimizer's (`snapshot`, then `rescale`): ``p = before + s * (after - before)``.
    Why both give each member its own rate: docs/comparisons.md, "Stacks: the folds train together".

    Parameters
    ----------
    stack : src.training.stack.Stack
    rates : list of float
        Each candidate's learning rate.
    reference : float
        The rate the optimizer is built with.
    optimizer : type, optional
        The optimizer's class.
    settings : dict, optional
        Its settings (weight decay decides whether scaling the loss is exact).
    """

    def __init__(self, stack, rates, reference, optimizer=None, settings=None):
        scales = torch.tensor([rate / reference for rate in rates], dtype=stack.weights[0].dtype)
        self.loss_scale = None
        self.active = bool((scales != 1).any())
        if self.active and LINEAR_IN_GRADIENT.get(optimizer, lambda _: False)(settings or {}):
            # scale each candidate's loss instead: no pass over the parameters at all
            self.loss_scale, self.active = scales.view(-1, 1).to(stack.weights[0].device), False
        if not self.active:
            return
        device = stack.weights[0].device
        width = stack.weights[0].shape[2] // stack.C
        columns = (1 - scales).repeat_interleave(width).view(1, 1, -1).to(device)  # candidate c's columns
        members = (1 - scales).repeat_interleave(stack.F).view(-1, 1, 1).to(device)  # member m = c * F + f
        self.params = stack.parameters()
        owners = stack.candidates_of_parameters()
        self.weights = [columns if i < 2 else members if owner is None else
                        (1 - scales[owner]).to(device).view([1] * p.dim())
                        for i, (p, owner) in enumerate(zip(self.params, owners))]
        self.before = [torch.empty_like(p) for p in self.params]

    def snapshot(self):
        """Remember the parameters before the optimizer's step."""
        if self.active:
            with torch.no_grad():
                torch._foreach_copy_(self.before, self.params)

    def rescale(self):
        """Scale each member's step by its rate over the reference."""
        if self.active:
            with torch.no_grad():
                # p + (1 - s) (before - p) = before + s (p - before)
                torch._foreach_lerp_(self.params, self.before, self.weights)

    def scales(self):
        """Each candidate's loss scale (`loss_scale`) as a list, or None when the losses are not scaled."""
        return None if self.loss_scale is None else self.loss_scale.view(-1).tolist()
