from .compat import register_onedl_scopes
from .prompts import format_class_shares, parse_class_shares

__all__ = ['register_onedl_scopes', 'format_class_shares',
           'parse_class_shares']
