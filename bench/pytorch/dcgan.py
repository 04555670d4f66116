"""The DCGAN of examples/dcgan_mnist.gan in PyTorch, for side-by-side timing.

G: z ~ U(-1, 1)^100 -> dense 7*7*128, BN, ReLU -> convT 128->64 k4 s2 p1, BN, ReLU
   -> convT 64->1 k4 s2 p1, tanh.
D: x [1, 28, 28] -> conv 1->64 k4 s2 p1, LeakyReLU 0.2 -> conv 64->128 k4 s2 p1, BN,
   LeakyReLU 0.2 -> dense 6272->1 (a logit); BCE with logits, non-saturating G loss.
Adam(2e-4, betas 0.5/0.999) for each player, batch 128, one D step then one G step.
Convolutions without bias (BN follows them), as in ganc's std.nn layers.

  OPENBLAS_CORETYPE=Cooperlake /usr/bin/python3 bench/pytorch/dcgan.py \
      --data data/mnist --steps 30 [--threads T]
Prints iterations/s over the timed steps (after a warm-up).
"""
import argparse, struct, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_idx(path):
    raw = open(path, "rb").read()
    n = struct.unpack(">I", raw[4:8])[0]
    return np.frombuffer(raw[16:], np.uint8).reshape(n, 784).astype(np.float32) / 127.5 - 1


class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(100, 7 * 7 * 128)
        self.bn0 = nn.BatchNorm1d(7 * 7 * 128)
        self.up1 = nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1, bias=False)

    def forward(self, z):
        h = F.relu(self.bn0(self.fc(z))).view(-1, 128, 7, 7)
        h = F.relu(self.bn1(self.up1(h)))
        return torch.tanh(self.up2(h)).view(-1, 784)


class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 64, 4, 2, 1, bias=False)
        self.c2 = nn.Conv2d(64, 128, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(128)
        self.fc = nn.Linear(6272, 1)

    def forward(self, x):
        h = F.leaky_relu(self.c1(x.view(-1, 1, 28, 28)), 0.2)
        h = F.leaky_relu(self.bn2(self.c2(h)), 0.2)
        return self.fc(h.flatten(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batch", type=int, default=128)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    X = torch.from_numpy(load_idx(a.data + "/train-images-idx3-ubyte"))
    g, d = G(), D()
    oG = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-8)
    oD = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-8)
    B, n = a.batch, X.shape[0]
    ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)
    t0 = None
    for step in range(a.warmup + a.steps):
        if step == a.warmup:
            t0 = time.perf_counter()
        x = X[torch.randint(0, n, (B,))]
        z = torch.rand(B, 100) * 2 - 1
        oD.zero_grad()
        loss_d = F.binary_cross_entropy_with_logits(d(x), ones) + \
            F.binary_cross_entropy_with_logits(d(g(z).detach()), zeros)
        loss_d.backward()
        oD.step()
        z = torch.rand(B, 100) * 2 - 1
        oG.zero_grad()
        loss_g = F.binary_cross_entropy_with_logits(d(g(z)), ones)
        loss_g.backward()
        oG.step()
    dt = time.perf_counter() - t0
    print(f"pytorch dcgan batch {B}: {a.steps / dt:.2f} it/s")


if __name__ == "__main__":
    main()
