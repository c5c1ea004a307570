"""Install dldm_mmseg: ``pip install -e .`` (the README has the set-up)."""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(path):
    """Read a requirements file, skipping comments and nested ``-r`` lines."""
    here = osp.dirname(osp.abspath(__file__))
    with open(osp.join(here, path), encoding='utf-8') as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


def read_version():
    namespace = {}
    here = osp.dirname(osp.abspath(__file__))
    version_file = osp.join(here, 'dldm_mmseg', 'version.py')
    with open(version_file, encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='dldm_mmseg',
    version=read_version(),
    description=('Decoupled latent-diffusion sample generation for aerial '
                 'image segmentation, as an MMSegmentation plugin'),
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'bench', 'configs',
                                    'tools')),
    package_data={'dldm_mmseg.experiments.demo': ['report_template.md']},
    python_requires='>=3.10',
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require=dict(tests=read_requirements('requirements/tests.txt')),
    license='Apache-2.0',
    zip_safe=False,
)
