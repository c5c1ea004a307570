from .generators import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .vae_autoencoder import VAEAutoencoder  # noqa: F401
