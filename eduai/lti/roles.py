"""LTI role URIs -> the EduAI course role (``courses.Role``) of the person launching.

LIS v2 context roles (``http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor``), their
sub-roles (``.../membership/Instructor#TeachingAssistant``), institution/system roles and the
deprecated short names ("Instructor", "Learner") are all understood. The strongest role wins:
teacher > TA > student. Mentors and guests have no EduAI role and are refused at launch.
"""

from __future__ import annotations

from collections.abc import Iterable

from eduai.courses.models import Role

_CONTEXT_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
_CONTEXT_SUBROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership/"

# Context role (or sub-role) name -> EduAI role.
_CONTEXT_MAP = {
    "Administrator": Role.TEACHER,
    "ContentDeveloper": Role.TEACHER,
    "Instructor": Role.TEACHER,
    "TeachingAssistant": Role.TA,
    "Grader": Role.TA,
    "Learner": Role.STUDENT,
}
# Sub-roles that weaken their parent (an Instructor#TeachingAssistant is a TA, not a teacher).
_SUBROLE_MAP = {
    "TeachingAssistant": Role.TA,
    "TeachingAssistantSection": Role.TA,
    "TeachingAssistantOffering": Role.TA,
    "TeachingAssistantGroup": Role.TA,
    "TeachingAssistantSectionAssociation": Role.TA,
    "TeachingAssistantTemplate": Role.TA,
    "Grader": Role.TA,
    "ExternalInstructor": Role.TEACHER,
    "Lecturer": Role.TEACHER,
    "PrimaryInstructor": Role.TEACHER,
    "SecondaryInstructor": Role.TEACHER,
    "GuestInstructor": Role.TA,
}
# Institution/system administrators launching into a course act as its teacher.
_ADMIN_ROLES = {
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin",
}
_STRENGTH: dict[str, int] = {Role.STUDENT: 1, Role.TA: 2, Role.TEACHER: 3}


def _one(uri: str) -> str | None:
    if uri in _ADMIN_ROLES:
        return Role.TEACHER
    if uri.startswith(_CONTEXT_SUBROLE):
        parent, _, sub = uri[len(_CONTEXT_SUBROLE) :].partition("#")
        if sub in _SUBROLE_MAP:
            return _SUBROLE_MAP[sub]
        if parent == "Learner":
            return Role.STUDENT
        return None
    if uri.startswith(_CONTEXT_ROLE):
        return _CONTEXT_MAP.get(uri[len(_CONTEXT_ROLE) :])
    # LTI 1.3 still allows the short names of context roles.
    return _CONTEXT_MAP.get(uri)


def role_from_lti(roles: Iterable[object]) -> str | None:
    """The strongest EduAI role among the LTI roles, or None when none of them maps."""
    best: str | None = None
    for uri in roles:
        if not isinstance(uri, str):
            continue
        role = _one(uri.strip())
        if role and (best is None or _STRENGTH[role] > _STRENGTH[best]):
            best = role
    return best
