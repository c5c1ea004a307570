from .captioning import (VLMCaptioner, list_patches, load_captions,
                         template_caption, write_captions)

__all__ = ['VLMCaptioner', 'write_captions', 'load_captions',
           'template_caption', 'list_patches']
