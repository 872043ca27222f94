#!/usr/bin/env python3
"""Writes a TorchScript Inception-v3 with random weights and the interface of
inception-2015-12-05.pt (the file clean-fid and stylegan2-ada-pytorch use for FID):

    forward(img, return_features=False, use_fp16=False, no_output_bias=False)
    img: uint8 (N, 3, H, W) in [0, 255], resized to 299x299 inside;
    2048 pool features with return_features, else 1008 logits.

Its numbers mean nothing: it is for timing `acgan eval` and trying the Inception path offline.
For real FID/IS/KID use the published file (docs/evaluation.md).
Needs python3-torch and python3-torchvision (Debian). Usage:
    python3 scripts/make_random_inception.py OUT.pt
"""
import sys

import torch
import torch.nn.functional as F
import torchvision


class InceptionInterface(torch.nn.Module):
    def __init__(self):
        super().__init__()
        net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False,
                                              num_classes=1008)
        self.trunk = torch.nn.Sequential(
            net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, net.maxpool1,
            net.Conv2d_3b_1x1, net.Conv2d_4a_3x3, net.maxpool2, net.Mixed_5b, net.Mixed_5c,
            net.Mixed_5d, net.Mixed_6a, net.Mixed_6b, net.Mixed_6c, net.Mixed_6d, net.Mixed_6e,
            net.Mixed_7a, net.Mixed_7b, net.Mixed_7c, net.avgpool)
        self.fc = net.fc

    def forward(self, img, return_features: bool = False, use_fp16: bool = False,
                no_output_bias: bool = False):
        x = img.to(torch.float32)
        x = F.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False)
        x = (x - 128.0) / 128.0
        features = self.trunk(x).flatten(1)
        if return_features:
            return features
        if no_output_bias:
            return torch.matmul(features, self.fc.weight.t())
        return self.fc(features)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: make_random_inception.py OUT.pt')
    torch.manual_seed(0)
    net = InceptionInterface()
    # Random weights with BatchNorm's default statistics collapse every feature to ~0: set them
    # from one batch of random images, so that features and logits vary as a real network's do.
    for layer in net.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.momentum = None  # a plain average of the batches seen
    with torch.no_grad():
        net.train()
        net(torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8), True)
    module = torch.jit.script(net.eval())
    module.save(sys.argv[1])
    print(f'wrote {sys.argv[1]}: random-weight Inception-v3 with the FID file\'s interface')
