"""Fill the zh_Hans catalogue from the table below; run by `make messages` after makemessages.

Kept as data, so a translator edits one place. Untranslated strings are listed, and the run fails.
"""

import sys
from pathlib import Path

import polib

ZH = {
    "area": "地区", "role": "角色", "District admin": "区管理员", "Subdistrict admin": "街道管理员",
    "Community staff": "社区工作人员", "Grid worker": "网格员", "Sampler": "采样员", "Lab staff": "检测机构人员",
    "see residents": "查看居民", "edit residents": "修改居民信息", "reveal document numbers": "查看完整证件号码",
    "import and export the registry": "导入导出居民信息", "read the audit log": "查看操作记录",
    "Log in": "登录", "Wrong username or password.": "用户名或密码错误。", "Username": "用户名", "Password": "密码",
    "District": "区", "Subdistrict": "街道", "Town": "镇", "Community": "社区", "Village": "村", "Grid": "网格",
    "name": "名称", "level": "级别", "parent": "上级", "grid": "网格", "compound": "小区", "building": "楼栋",
    "entrance": "单元", "room": "房号",
    "<b>%(n)s</b> resident": "<b>%(n)s</b> 名居民",
    "Grid workers": "网格员", "Export to Excel": "导出 Excel", "Import a table": "导入表格", "residents": "名居民",
    "%(n)s present": "在住 %(n)s", "Building": "楼栋", "Households": "户数", "Residents": "人数",
    "No buildings in this grid yet. Import the grid's resident table to fill it.": "本网格还没有楼栋。导入本网格的居民信息表即可建立。",
    "Nothing below this area yet. Import a resident table with “Create areas” ticked, or ask an administrator to add areas.":
        "此地区下还没有下级。导入居民信息表时勾选“新建地区”，或请管理员添加。",
    "%(n)s household": "%(n)s 户", "%(n)s resident": "%(n)s 人", "Entrance %(e)s": "%(e)s单元", "y": "岁",
    "Nobody registered in this household.": "本户暂无登记人员。", "No households in this building yet.": "本楼还没有住户。",
    "Name": "姓名", "Sex": "性别", "Age": "年龄", "Relation": "关系", "Document": "证件", "Phone": "电话",
    "Status": "状态", "Add a resident": "添加居民", "when": "时间", "action": "操作", "changes": "变更", "reason": "原因",
    "Hello, %(name)s": "%(name)s，您好", "Your areas": "您负责的地区", "All areas": "全部地区",
    "You have no area yet. Ask your community or subdistrict administrator to assign you to one.":
        "您还没有负责的地区。请联系社区或街道管理员为您分配。",
    "Find a resident": "查找居民",
    "Name, ID (or its last digits), phone, or address such as 3号楼2单元501": "姓名、证件号（或后几位）、电话，或地址如 3号楼2单元501",
    "Your role does not show the resident registry. Sampling and lab pages come with their own features.":
        "您的角色不能查看居民信息库。采样和检测页面随相应功能提供。",
    "Registry table": "居民信息表", "Download the template": "下载模板", "Reason for the change": "修改原因",
    "Name is required.": "请填写姓名。", "Leave the number empty when there is no document.": "无证件时证件号码请留空。",
    "A birth date is needed for someone without a document.": "无证件人员须填写出生日期。",
    "Enter the document number, or choose 'None' as the type.": "请填写证件号码，或将证件类型选为“无”。",
    "The sex does not match the ID number.": "性别与身份证号码不符。",
    "The birth date does not match the ID number.": "出生日期与身份证号码不符。",
    "Entrance": "单元", "Room": "房号", "Registry table (.xlsx, .xls or .csv)": "居民信息表（.xlsx、.xls 或 .csv）",
    "Create the areas the file names and the registry lacks": "新建文件中有而系统中没有的地区",
    "Male": "男", "Female": "女", "Resident ID card": "居民身份证", "Passport": "护照",
    "Hong Kong/Macau permit": "港澳居民来往内地通行证", "Taiwan permit": "台湾居民来往大陆通行证", "None": "无",
    "Registered (户籍)": "户籍", "Permanent (常住)": "常住", "Temporary (暂住)": "暂住", "Present": "在住",
    "Away": "外出", "Moved out": "迁出", "Deceased": "死亡", "sex": "性别", "document type": "证件类型",
    "document number": "证件号码", "birth date": "出生日期", "phone": "电话", "household": "户",
    "relation to household head": "与户主关系", "residence type": "居住类型", "status": "人员状态",
    "bedridden": "卧床", "living alone": "独居", "disability": "残疾", "note": "备注",
    "This document number is already registered: search for the person instead of registering them again.":
        "该证件号码已登记：请搜索此人，不要重复登记。",
    "relation": "关系", "consent given": "同意时间", "Preview": "预览", "Applied": "已导入", "Failed": "失败",
    "Preview — nothing has changed yet. If the file is imported:": "预览——尚未做任何修改。如果导入：",
    "Rows": "行数", "new": "新增", "updated": "更新", "unchanged": "未变", "rejected": "未导入",
    "%(n)s blank rows skipped.": "已跳过 %(n)s 个空行。", "Areas created": "新建的地区",
    "Import the good rows": "导入无误的行", "Import": "导入", "Choose another file": "另选文件",
    "Download rejected rows (.xlsx)": "下载未导入的行（.xlsx）", "Rejected rows": "未导入的行",
    "Correct them in the downloaded file and import it again: the reason columns are ignored on import.":
        "在下载的文件中改正后再次导入即可：导入时会忽略原因列。",
    "Row": "行", "Column": "列", "Reason": "原因",
    "The first %(n)s are shown; the download has all of them.": "此处显示前 %(n)s 行，下载文件中有全部。",
    "Import a resident table": "导入居民信息表",
    "Upload the table your community already keeps. Usual headers are understood (身份证号/证件号码, 手机/联系电话, 楼栋/楼号, 房号/门牌号…), or one 地址 column such as 盛世佳苑3号楼2单元501. You will see a preview first: nothing changes until you confirm.":
        "上传社区现有的居民信息表。常见表头均可识别（身份证号/证件号码、手机/联系电话、楼栋/楼号、房号/门牌号……），也可只用一个“地址”列，如 盛世佳苑3号楼2单元501。先显示预览，确认前不做任何修改。",
    "Check the file": "检查文件", "Your recent imports": "最近的导入", "File": "文件", "When": "时间", "State": "状态",
    "Total": "总数", "Rejected": "未导入", "Birth date": "出生日期", "Show in full (recorded)": "显示完整号码（将被记录）",
    "Household": "住户", "Relation to household head": "与户主关系", "Residence type": "居住类型",
    "Special needs": "特殊情况", "Guardians": "监护人", "Dependents": "被监护人", "Note": "备注", "Edit": "修改",
    "Move to another household": "迁至其他户", "Mark as": "标记为", "Reason, e.g. working in Jinan since May": "原因，如：5月起在济南务工",
    "Save": "保存", "History": "修改记录", "Who": "操作人", "What": "内容", "Why": "原因", "system": "系统",
    "No changes recorded yet.": "暂无修改记录。", "Add a resident to": "添加居民到", "Cancel": "取消", "Move": "迁移",
    "Now at": "现住", "A room that does not exist yet is created.": "如该房号尚不存在，将自动建立。", "Search": "搜索",
    "%(n)s match": "找到 %(n)s 人",
    "Nobody in your areas matches “%(query)s”. Try part of the name, the last 4–6 digits of the ID, or an address such as 3号楼2单元501.":
        "您负责的地区中没有与“%(query)s”相符的人。可试试姓名的一部分、证件号后4–6位，或地址如 3号楼2单元501。",
    "Saved.": "已保存。", "Nothing changed.": "没有修改。", "Resident added.": "已添加居民。",
    "Moved to %(household)s.": "已迁至 %(household)s。", "Status changed.": "状态已修改。",
    "Choose a status and give a reason.": "请选择状态并填写原因。", "This import has already been applied.": "该文件已经导入过。",
    "Import applied.": "已导入。", "简体中文": "简体中文", "English": "English", "gridroll": "网格点名",
    "Name, ID, phone or address": "姓名、证件号、电话或地址", "Search residents": "搜索居民", "Log out": "退出",
}


def main() -> int:
    path = Path(__file__).resolve().parent.parent / "gridroll/locale/zh_Hans/LC_MESSAGES/django.po"
    po = polib.pofile(str(path))
    missing = []
    for entry in po:
        text = ZH.get(entry.msgid)
        if text is None:
            missing.append(entry.msgid)
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = {0: text}
        else:
            entry.msgstr = text
        entry.flags = [f for f in entry.flags if f != "fuzzy"]
    po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    po.metadata["Language"] = "zh_Hans"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.save()
    po.save_as_mofile(str(path.with_suffix(".mo")))
    for m in missing:
        print("untranslated:", m)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
