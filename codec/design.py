"""The model set's design constants, in one torch-free place: the networks (model.py), the encoder and
decoder pipeline and the metrics all read them here. The integer constants the standard fixes (skip
threshold, HSD range) live with the entropy layer that applies them (codec/entropy/)."""
import math

C_LUMA, C_CHROMA = 160, 96               # latent channels per component at 1/16
C_MAX = (C_LUMA, C_CHROMA)
Z_MAX = 31                               # hyper-latents are clamped to ±31; symbol = z + Z_MAX
SIGMA0 = 0.11                            # sigma at index 0; one residual row = 128 Q7 units
LOG_K = math.log(54.82 / SIGMA0) / 31
NUM_MODELS = 4
LAMBDAS = (0.0018, 0.0054, 0.016, 0.048)   # per model_id, for the loss lambda * 255^2 * MSE(RGB) + bpp
KR, KB = 0.2126, 0.0722                  # BT.709 luma coefficients of red and blue
