"""The words stage: from a template to the text an engine speaks.

Templates found (`library`), their headers read (`header`), rendered in a sandbox with the
helpers a template calls (`helpers`, `sandbox`, `templates`); the script markup and its parser
(`script`), people named in the second person (`person`), text prepared for speech
(`speakable`), phrasing, pacing rules, the template lint and the starter template.
"""
