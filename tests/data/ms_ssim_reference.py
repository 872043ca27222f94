#!/usr/bin/env python3
"""MS-SSIM reference values for tests/test_eval.cpp, computed independently of acgan.

The algorithm of tensorflow/models research/compression/image_encoder/msssim.py (NHWC, float64,
scipy's fftconvolve for the Gaussian window and ndimage's reflect-mode 2x2 filter between scales),
with the per-scale means clipped at 0 as progressive_growing_of_gans' metrics/ms_ssim.py does.
The images are integer formulas that test_eval.cpp computes too, so no image file is needed.
Run: /usr/bin/python3 tests/data/ms_ssim_reference.py (needs python3-numpy, python3-scipy).
"""
import numpy as np
from scipy import signal
from scipy.ndimage import convolve

WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def gauss(size, sigma):
    radius = size // 2
    offset = 0.0
    start, stop = -radius, radius + 1
    if size % 2 == 0:
        offset = 0.5
        stop -= 1
    x, y = np.mgrid[offset + start:stop, offset + start:stop]
    g = np.exp(-((x ** 2 + y ** 2) / (2.0 * sigma ** 2)))
    return g / g.sum()


def ssim_terms(img1, img2, max_val=255, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03):
    _, height, width, _ = img1.shape
    size = min(filter_size, height, width)
    sigma = size * filter_sigma / filter_size
    window = np.reshape(gauss(size, sigma), (1, size, size, 1))
    mu1 = signal.fftconvolve(img1, window, mode='valid')
    mu2 = signal.fftconvolve(img2, window, mode='valid')
    sigma11 = signal.fftconvolve(img1 * img1, window, mode='valid') - mu1 * mu1
    sigma22 = signal.fftconvolve(img2 * img2, window, mode='valid') - mu2 * mu2
    sigma12 = signal.fftconvolve(img1 * img2, window, mode='valid') - mu1 * mu2
    c1 = (k1 * max_val) ** 2
    c2 = (k2 * max_val) ** 2
    v1 = 2.0 * sigma12 + c2
    v2 = sigma11 + sigma22 + c2
    ssim = np.mean(((2.0 * mu1 * mu2 + c1) * v1) / ((mu1 * mu1 + mu2 * mu2 + c1) * v2))
    cs = np.mean(v1 / v2)
    return ssim, cs


def ms_ssim(img1, img2):
    im1, im2 = img1.astype(np.float64), img2.astype(np.float64)
    mssim, mcs = [], []
    for _ in range(WEIGHTS.size):
        ssim, cs = ssim_terms(im1, im2)
        mssim.append(ssim)
        mcs.append(cs)
        down = np.ones((1, 2, 2, 1)) / 4.0
        im1, im2 = [convolve(im, down, mode='reflect')[:, ::2, ::2, :] for im in (im1, im2)]
    mssim = np.clip(np.array(mssim), 0.0, np.inf)
    mcs = np.clip(np.array(mcs), 0.0, np.inf)
    return np.prod(mcs[:-1] ** WEIGHTS[:-1]) * mssim[-1] ** WEIGHTS[-1]


def pair(height, width):
    """The test images, (1, H, W, 3): two related integer patterns."""
    y, x, c = np.mgrid[0:height, 0:width, 0:3]
    a = (x * 7 + y * 13 + c * 29 + (x * y) % 17) % 256
    b = (a + (x * x + y * 3 + c * 11) % 256) // 2
    return a[None].astype(np.uint8), b[None].astype(np.uint8)


if __name__ == '__main__':
    for height, width in [(32, 32), (48, 40)]:
        a, b = pair(height, width)
        print(f'{height}x{width}: {ms_ssim(a, b)!r}')
