from .biased_encoder_decoder import BiasedEncoderDecoder

__all__ = ['BiasedEncoderDecoder']
