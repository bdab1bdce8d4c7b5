"""Release artifacts: tar/zip archives, wheels, .deb and .rpm packages, read in place.

`detect` recognises a container by content, `members` streams its entries, `check` hands the
ELF members to the same inspect/judge code as plain files, and `wheel` checks platform tags.
"""
