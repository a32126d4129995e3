"""The words stage: from a template to the text an engine speaks.

Template discovery and rendering in a sandbox, the script markup and its parser, text prepared
for speech, phrasing, pacing rules, the template lint and the starter template.
"""
