"""The two baselines the project is timed against, each run in its own process (``--worker``).

- ``b``: a naive skorch setup as the origin notebook wrote it: its MLP and hand-written autograd
  ReLU, NeuralNetClassifier with its default DataLoader, numpy arrays in, default callbacks,
  GridSearchCV with n_jobs=1;
- ``c``: a hand-written PyTorch loop doing the same fits (same batches, epochs and validation split);
- ``cnn_b``: part b's naive skorch setup (DataLoader, numpy arrays in, default callbacks and
  threads, GridSearchCV with n_jobs=1) around the project's CNN of ``model=cnn``, the network
  that part ``cnn`` trains.

Both run the notebook's search as the project's config composes it (`src.bench.notebook.Notebook`).
"""
import numpy as np


def _cv(folds, seed=0):
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


def _load(subset):
    from ..data import datasets as data

    return data.load("mnist", root="data", subset=subset)


def naive_skorch(epochs, subset, setup, device="cpu"):
    """Part b in this process: the notebook's setup, scores per activation.

    As the notebook wrote it: its MLP with one activation instance shared by the layers, its
    hand-written autograd ReLU (the backward clones the gradient and zeroes it where the input
    is negative) for relu and PyTorch's own tanh and LeakyReLU, skorch's defaults otherwise
    (its epoch table printed, as in the notebook). ``setup`` is a `src.bench.notebook.Notebook`.
    """
    import torch
    from sklearn.model_selection import GridSearchCV
    from skorch import NeuralNetClassifier
    from torch import nn

    from ..model.modules import ReLUFunction

    class NotebookReLUFunction(ReLUFunction):  # the same forward, the notebook's backward
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            grad = grad_output.clone()
            grad[x < 0] = 0
            return grad

    class NotebookReLU(nn.Module):
        def forward(self, x):
            return NotebookReLUFunction.apply(x)

    sizes = setup.sizes

    class NotebookNet(nn.Module):
        def __init__(self, activation=NotebookReLU()):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = (nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:]))
            self.activation = activation

        def forward(self, x):
            return self.fc3(self.activation(self.fc2(self.activation(self.fc1(x)))))

    ds = _load(subset)
    torch.manual_seed(0)
    net = NeuralNetClassifier(NotebookNet, max_epochs=epochs, batch_size=setup.batch_size, lr=setup.lr,
                              criterion=nn.CrossEntropyLoss, optimizer=torch.optim.SGD,
                              optimizer__momentum=setup.momentum, device=device)
    makers = {"relu": NotebookReLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}
    grid = {"module__activation": [makers[name]() for name in setup.activations]}
    search = GridSearchCV(net, grid, refit=False, cv=_cv(setup.folds), scoring="accuracy", n_jobs=1)
    search.fit(ds.X_train, ds.y_train)
    return dict(zip(setup.activations, search.cv_results_["mean_test_score"].tolist())), len(ds.y_train)


def torch_loop(epochs, subset, setup, device="cpu"):
    """Part c in this process: a plain training loop over the same folds and validation split."""
    import torch
    from sklearn.model_selection import StratifiedShuffleSplit
    from torch import nn
    from torch.nn import functional as F

    ds = _load(subset)
    X, y = torch.from_numpy(ds.X_train).to(device), torch.from_numpy(ds.y_train).to(device)
    makers = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}
    batch, sizes = setup.batch_size, setup.sizes
    scores = {}
    for name in setup.activations:
        accs = []
        for train, test in _cv(setup.folds).split(ds.X_train, ds.y_train):
            fit_rows, valid_rows = next(StratifiedShuffleSplit(1, test_size=setup.valid_fraction, random_state=0)
                                        .split(train, ds.y_train[train]))
            fit_idx = torch.as_tensor(train[fit_rows], device=device)
            valid_idx = torch.as_tensor(train[valid_rows], device=device)
            torch.manual_seed(0)
            layers = [nn.Linear(sizes[0], sizes[1])]
            for n_in, n_out in zip(sizes[1:-1], sizes[2:]):
                layers += [makers[name](), nn.Linear(n_in, n_out)]
            model = nn.Sequential(*layers).to(device)
            opt = torch.optim.SGD(model.parameters(), lr=setup.lr, momentum=setup.momentum)
            for _ in range(epochs):
                model.train()
                order = fit_idx[torch.randperm(len(fit_idx)).to(device)]
                for start in range(0, len(order), batch):
                    idx = order[start:start + batch]
                    opt.zero_grad()
                    F.cross_entropy(model(X[idx]), y[idx]).backward()
                    opt.step()
                model.eval()
                with torch.no_grad():  # per-epoch validation, as skorch does
                    logits = torch.cat([model(X[valid_idx[s:s + batch]]) for s in range(0, len(valid_idx), batch)])
                    F.cross_entropy(logits, y[valid_idx]), (logits.argmax(1) == y[valid_idx]).float().mean()
            with torch.no_grad():
                test_idx = torch.as_tensor(test, device=device)
                pred = model(X[test_idx]).argmax(1)
            accs.append(float((pred == y[test_idx]).float().mean()))
        scores[name] = float(np.mean(accs))
    return scores, len(ds.y_train)


def naive_cnn(epochs, subset, setup, device="cpu"):
    """Part cnn_b in this process: the notebook's search on the CNN of ``model=cnn`` (`src.model.cnn.CNN`, the
    same network and init as the project's), with skorch's defaults as part b uses them."""
    import torch
    from sklearn.model_selection import GridSearchCV
    from skorch import NeuralNetClassifier
    from torch import nn

    from ..model.cnn import CNN

    ds = _load(subset)
    keys = setup.cnn_keys
    torch.manual_seed(0)
    net = NeuralNetClassifier(CNN, module__n_classes=ds.n_classes,
                              module__hidden=list(keys["hidden"]), module__channels=list(keys["channels"]),
                              module__kernel_size=keys["kernel_size"], module__pool=keys["pool"],
                              module__init=keys["init"], module__image_shape=ds.image_shape, max_epochs=epochs,
                              batch_size=setup.batch_size,
                              lr=setup.lr, criterion=nn.CrossEntropyLoss, optimizer=torch.optim.SGD,
                              optimizer__momentum=setup.momentum, device=device)
    grid = {"module__activation": list(setup.activations)}
    search = GridSearchCV(net, grid, refit=False, cv=_cv(setup.folds), scoring="accuracy", n_jobs=1)
    search.fit(ds.X_train, ds.y_train)
    return dict(zip(setup.activations, search.cv_results_["mean_test_score"].tolist())), len(ds.y_train)


# part -> its function, run by ``python -m src.bench --worker``
WORKERS = {"b": naive_skorch, "c": torch_loop, "cnn_b": naive_cnn}
