import torch

from sue_framework.runtime.nn import train_epochs


def test_the_training_loop_keeps_the_best_epoch_and_stops_on_patience():
    """Scripted losses: the state of the best epoch (modules and loose tensors) comes back, and
    training stops after `patience` epochs without a real (min_delta) improvement."""
    net, scale = torch.nn.Linear(2, 1), torch.zeros(1)
    losses = iter([5.0, 3.0, 2.999, 2.5, 2.6, 2.7, 2.4999, 1.0])  # 1.0 is never reached
    ran = []

    def run_epoch():
        ran.append(len(ran))
        with torch.no_grad():
            net.bias.fill_(float(len(ran)))
            scale.fill_(float(len(ran)))

    log = train_epochs(20, run_epoch, keep=[net, scale], validate=lambda: next(losses),
                       patience=3, min_delta=0.01)  # fmt: skip
    # 2.999 and 2.4999 are lower but not 1 % lower: no patience reset; stop after epoch 7
    assert log.losses == [5.0, 3.0, 2.999, 2.5, 2.6, 2.7, 2.4999] and len(ran) == 7
    assert float(net.bias.detach()) == 7.0 and float(scale) == 7.0  # the lowest loss: epoch 7
    assert len(log.seconds) == 7 and not net.training


def test_epochs_without_a_loss_all_run_and_the_last_state_stays():
    net = torch.nn.Linear(2, 1)
    count = []

    def run_epoch():
        count.append(1)
        with torch.no_grad():
            net.bias.fill_(float(len(count)))

    log = train_epochs(4, run_epoch, keep=[net], patience=1)
    assert len(count) == 4 and float(net.bias.detach()) == 4.0 and log.losses == []
