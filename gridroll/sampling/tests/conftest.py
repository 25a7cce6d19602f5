def code_of(resident):
    from gridroll.codes.services import current_code

    return current_code(resident).token
