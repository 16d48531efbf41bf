"""The docker's options, remembered in kritarc between sessions."""
from dataclasses import dataclass

GROUP = "AlphaLift"


@dataclass
class Options:
    model: str = ""  # "" = the catalogue's default
    refine: bool = True
    decontaminate: bool = False


def load(krita) -> Options:
    read = lambda key, default: krita.readSetting(GROUP, key, default)  # noqa: E731
    return Options(model=read("model", ""), refine=read("refine", "true") == "true",
                   decontaminate=read("decontaminate", "false") == "true")


def save(krita, options: Options) -> None:
    krita.writeSetting(GROUP, "model", options.model)
    krita.writeSetting(GROUP, "refine", "true" if options.refine else "false")
    krita.writeSetting(GROUP, "decontaminate", "true" if options.decontaminate else "false")
