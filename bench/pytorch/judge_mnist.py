"""An independent judge of generated digits: a small PyTorch CNN trained on the 10,000
MNIST digits in data/mnist (9,000 to train, 1,000 held out), then applied to samples
written by `ganc sample`. Prints its held-out accuracy, the class histogram of the
samples and the share it classifies with confidence above 0.9. Samples in [-1, 1] (from a
tanh generator) are mapped to [0, 1] first. With LABELS.npy (the class numbers a
conditional generator was asked for), also prints how often the judge agrees.

  OPENBLAS_CORETYPE=Cooperlake /usr/bin/python3 bench/pytorch/judge_mnist.py SAMPLES.npy [LABELS.npy]
"""
import sys, struct, numpy as np, torch, torch.nn as nn
torch.manual_seed(0)
def idx(p):
    b=open(p,'rb').read(); n=struct.unpack('>I',b[4:8])[0]; return np.frombuffer(b[16:],np.uint8).reshape(n,784)/255.0
X=idx('data/mnist/train-images-idx3-ubyte'); 
lb=open('data/mnist/train-labels-idx1-ubyte','rb').read(); Y=np.frombuffer(lb[8:],np.uint8).astype(np.int64)
Xt=torch.tensor(X,dtype=torch.float32).view(-1,1,28,28); Yt=torch.tensor(Y)
net=nn.Sequential(nn.Conv2d(1,32,3,padding=1),nn.ReLU(),nn.MaxPool2d(2),nn.Conv2d(32,64,3,padding=1),nn.ReLU(),nn.MaxPool2d(2),nn.Flatten(),nn.Linear(64*49,128),nn.ReLU(),nn.Linear(128,10))
opt=torch.optim.Adam(net.parameters(),1e-3)
perm=torch.randperm(10000); tr,va=perm[:9000],perm[9000:]
for ep in range(4):
    p=tr[torch.randperm(9000)]
    for i in range(0,9000,128):
        b=p[i:i+128]; opt.zero_grad(); l=nn.functional.cross_entropy(net(Xt[b]),Yt[b]); l.backward(); opt.step()
with torch.no_grad(): acc=(net(Xt[va]).argmax(1)==Yt[va]).float().mean().item()
print('judge held-out accuracy %.3f'%acc)
S=np.load(sys.argv[1]).astype(np.float32)
if S.min()<-0.01: S=(S+1)/2
with torch.no_grad(): pr=torch.softmax(net(torch.tensor(S).view(-1,1,28,28)),1)
conf,cls=pr.max(1)
print('class histogram', np.bincount(cls.numpy(),minlength=10).tolist())
print('confident (>0.9) share %.3f'%(conf>0.9).float().mean().item())
if len(sys.argv)>2:
    L=np.load(sys.argv[2]).astype(np.int64)
    print('agrees with the requested class %.3f'%(cls.numpy()==L).mean())
