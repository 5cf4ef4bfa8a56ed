"""Regenerate src/asc_evidence/registry.csv from the mirror's MANIFEST.csv and PROVENANCE files.

Run by a maintainer when the mirror changes: ``python scripts/make_registry.py PATH/TO/MIRROR``.
Each row: key (path inside the mirror/cache), dataset, sha256, bytes, url (best known download
address: the official file where PROVENANCE gives it, else the public repository snapshot the file
was taken from byte-for-byte), page (official publication page), publisher, licence.
Official releases the mirror lacks are appended from ``OFFICIAL_NOT_IN_MIRROR`` with an empty sha256.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

GH = "https://raw.githubusercontent.com"
# folder -> (publisher, official page, download prefix for files in that folder)
FOLDERS: dict[str, tuple[str, str, str]] = {
    "ascof/ascof_repos_trend_2017_2024": (
        "NHS England",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-outcomes-framework-ascof",
        f"{GH}/acbockmuehl/ascof-repos/d90e7b21f987d3bb2c1a4c15a89ea7b3ac9bf60a/data/",
    ),
    "ascof/nhsd_ascof_2020_21": (
        "NHS Digital",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-outcomes-framework-ascof/england-2020-21",
        f"{GH}/ericyang-almaeconomics/social_care_datahub/284a28a4094fce5e4d57686d2d94e85ad0250c14/Data/2021/",
    ),
    "ascof/oflog_extract": (
        "Office for Local Government",
        "https://oflog.data.gov.uk/",
        f"{GH}/communitiesuk/oflog-automated-text/8036fa87bff7902004956b0561765af21af665da/src/lib/",
    ),
    "ascof/trafford_lginform_extract": (
        "NHS England via LG Inform",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-outcomes-framework-ascof",
        f"{GH}/traffordDataLab/trafford_themes/ae20a088ae35b93b57843c79ee56e0072915db9e/data/health/",
    ),
    "delayed_transfers/la_type_b_days_2011_2019": (
        "NHS England",
        "https://www.england.nhs.uk/statistics/statistical-work-areas/delayed-transfers-of-care/",
        f"{GH}/psychty/DTOC/a789281edfacc62c8b9d4cc66d2969685b568151/DTOC_data/",
    ),
    "delayed_transfers/la_days_combined_2011_2020_jonnyp": (
        "NHS England (third-party aggregate)",
        "https://www.england.nhs.uk/statistics/statistical-work-areas/delayed-transfers-of-care/",
        f"{GH}/JonnyP1990/dtoc/fb9fa7481b0f38dc8dc07ffbb8a3649999a4b087/Datasets/",
    ),
    "delayed_transfers/population_18plus_ons_mye2_mid2014": (
        "ONS",
        "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/populationestimatesforukenglandandwalesscotlandandnorthernireland",
        f"{GH}/StatisticsNZ/demdata/123cf94954191e3677c973e5b46efde34f443741/data-raw/ONS_Deaths/MYE2_population_by_sex_and_age_for_local_authorities_UK_2014/",
    ),
    "fee_rates/fcoc_hf_council_web_scraping": (
        "Councils (Fair Cost of Care Annex B), extracted by The Health Foundation",
        "https://www.gov.uk/government/publications/market-sustainability-and-fair-cost-of-care-fund-2022-to-2023",
        f"{GH}/HFAnalyticsLab/council-web-scraping/385ac975826fa72f3814b920624c2a9a5bce21cd/Tabulizer%20outputs/",
    ),
    "finance_activity/ascfr_salt_data_tables_2021_22": (
        "NHS Digital",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-activity-and-finance-report",
        "https://files.digital.nhs.uk/AF/4C9A4F/",
    ),
    "finance_activity/ascfr_2017_18_gce_by_la_samrickman": (
        "NHS Digital (ASC-FR 2017-18, third-party extract)",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-activity-and-finance-report",
        f"{GH}/samrickman/shinyCare/61a5e62b2d5293a6cb001e7f8223242881e10c9c/",
    ),
    "finance_activity/bengoodair_adults_social_care_data": (
        "NHS Digital / Department of Health (PSS-EX1, ASC-FR)",
        "https://digital.nhs.uk/data-and-information/publications/statistical/personal-social-services-expenditure-and-unit-costs",
        f"{GH}/BenGoodair/adults_social_care_data/2475d81f42d01e1f8ba0450964c7668bf80ac314/",
    ),
    "finance_activity/cqc_care_directory_la_aggregates_feb2021": (
        "Care Quality Commission (aggregated by British Red Cross)",
        "https://www.cqc.org.uk/about-us/transparency/using-cqc-data",
        f"{GH}/britishredcrosssociety/nhs-capacity/e67145e9d6eae891cd8355315089c8b7d4a9cc14/data/processed/",
    ),
    # population/ and geography/: official page and publisher from each folder's PROVENANCE.md; the official
    # files are zips or reshaped, so the download is the repository snapshot the file was copied from.
    "geography/mhclg_iod2019": (
        "Ministry of Housing, Communities & Local Government",
        "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
        f"{GH}/nani2357/Warrington_deprivation_index/1b68f42a82af435c16fe84f9f6538aaaeda65764/data/",
    ),
    "geography/ons_ctyua_boundaries_buc/dec2021": (
        "Office for National Statistics (Open Geography Portal)",
        "https://geoportal.statistics.gov.uk/datasets/ons::counties-and-unitary-authorities-december-2021-uk-buc",
        f"{GH}/dfe-analytical-services/attendance-data-dashboard/8f4979c0dfb9300d017e69b0c8e73072ae75e989/reference/",
    ),
    "geography/ons_ctyua_boundaries_buc/may2023": (
        "Office for National Statistics (Open Geography Portal)",
        "https://geoportal.statistics.gov.uk/",
        f"{GH}/dfe-analytical-services/attendance-data-dashboard/8f4979c0dfb9300d017e69b0c8e73072ae75e989/data/",
    ),
    "geography/ons_lad_region_lookup_2019": (
        "Office for National Statistics (Open Geography Portal)",
        "https://geoportal.statistics.gov.uk/",
        f"{GH}/nujcharee/DSDA_Data/c7bb47b9fb929ecc2e3d43b527b3207692a11a99/",
    ),
    "geography/ons_ltla_utla_lookup_2022": (
        "Office for National Statistics (Open Geography Portal)",
        "https://open-geography-portalx-ons.hub.arcgis.com/datasets/ons::local-authority-district-to-county-and-unitary-authority-december-2022-lookup-in-ew/about",
        f"{GH}/MastodonC/witan.population/0dcaa57f75fa93f038dcc53ec4c724627d1eb0cf/resources/",
    ),
    "geography/ons_msoa11_msoa21_lad22_lookup": (
        "Office for National Statistics (Open Geography Portal)",
        "https://geoportal.statistics.gov.uk/",
        f"{GH}/lrowleyabel/Census-2021/b612754288914e7b64f9ea05288907cb5cdcae98/Lookups/",
    ),
    "geography/ons_msoa2021_boundaries_bsc": (
        "Office for National Statistics (Open Geography Portal)",
        "https://geoportal.statistics.gov.uk/",
        f"{GH}/lrowleyabel/Census-2021/b612754288914e7b64f9ea05288907cb5cdcae98/Boundaries/2021/MSOA/Super%20Generalised/",
    ),
    "geography/ons_sam_lsoa_dec2021": (
        "Office for National Statistics (Open Geography Portal)",
        "https://geoportal.statistics.gov.uk/datasets/a488cb8fc9a74accb63cb52961e456ef/about",
        f"{GH}/Yan02y/CASA0006/8b6b607ebd8aeaf970462452ac58a13c23588722/",
    ),
    "population/census2021_ts007_age_single_year": (
        "Office for National Statistics (Census 2021, via Nomis)",
        "https://www.nomisweb.co.uk/datasets/c2021ts007",
        f"{GH}/lrowleyabel/Census-2021/b612754288914e7b64f9ea05288907cb5cdcae98/Data/2021/Other/Age%20by%20single%20year/",
    ),
    "population/ons_npp_2018": (
        "Office for National Statistics",
        "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationprojections/datasets/z2zippedpopulationprojectionsdatafilesengland",
        f"{GH}/The-Strategy-Unit/nhp_demogr_module_inputs/ba7bd2fdb8dc0f3b1187661106627fae52a7e57a/data-raw/npp_2018b/",
    ),
    "population/ons_snpp_2016_extract_60plus": (
        "Office for National Statistics (third-party extract)",
        "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationprojections/datasets/localauthoritiesinenglandz1",
        f"{GH}/ESRC-CDRC/ihm_dashboard/68e935ae354fc7a0547a759c1581bfa83260d0de/data/eligibility/",
    ),
    "population/ons_snpp_2018": (
        "Office for National Statistics (third-party reshaped copy)",
        "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationprojections/datasets/localauthoritiesinenglandtable2",
        f"{GH}/drserajames/covid-local-epi/5b75e0eb0bddd38cee127d2bd00287b81f7788df/data/",
    ),
}
# Folders whose files come from several repositories: per-file (publisher, official page, download url).
_MYE_PAGE = "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/populationestimatesforukenglandandwalesscotlandandnorthernireland"
_TS_PUB = "Office for National Statistics (Census 2021, via Nomis)"
_FLOURISH = f"{GH}/talentseek/flourish/14320920fb92f6f9146c04a6dbaa5df5662f1cca/public"
_C21 = f"{GH}/lrowleyabel/Census-2021/b612754288914e7b64f9ea05288907cb5cdcae98"
FILES: dict[str, tuple[str, str, str]] = {
    "population/ons_mye_uk_single_year/ukmidyearestimates20182019ladcodes.xlsx": (
        "Office for National Statistics",
        _MYE_PAGE,
        f"{GH}/cmmid/covid-age/9df39363712e2cddd717f83c65d56a5c041ac998/ukmidyearestimates20182019ladcodes.xlsx",
    ),
    "population/ons_mye_uk_single_year/ukmidyearestimates20192020ladcodes.xls": (
        "Office for National Statistics",
        _MYE_PAGE,
        f"{GH}/TheDebata/Young-Claimants-by-LA/5af31924fe12551c938a1d0dabc26329f3717644/ukmidyearestimates20192020ladcodes.xls",
    ),
    "population/ons_mye_uk_single_year/ukpopestimatesmid2020on2021geography.xls": (
        "Office for National Statistics",
        _MYE_PAGE,
        f"{GH}/nujcharee/DSDA_Data/c7bb47b9fb929ecc2e3d43b527b3207692a11a99/ukpopestimatesmid2020on2021geography.xls",
    ),
    "population/ons_mye_uk_single_year/ukpopestimatesmid2021on2021geographyfinal.xls": (
        "Office for National Statistics",
        _MYE_PAGE,
        f"{GH}/yuliiabosher/Python-with-Data-course/cd6bb8cab1a6244a8d6c6a18d5bfe00c1b6b3867/ukpopestimatesmid2021on2021geographyfinal.xls",
    ),
    "population/ons_mye_uk_single_year/mye22final.xlsx": (
        "Office for National Statistics",
        _MYE_PAGE,
        f"{GH}/eoinkeadycct/DataVizHeroku/75ed1c75197eddd4e06272dea19b95a671496b29/mye22final.xlsx",
    ),
    "population/ons_npp_2020/enpppopendata2020.xls": (
        "Office for National Statistics",
        "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationprojections/datasets/z2zippedpopulationprojectionsdatafilesengland",
        f"{GH}/The-Strategy-Unit/nhp_demogr_module_inputs/57fe409067f43d1883a94ac5052292fcdbb48924/data-raw/npp_2020b/enpppopendata2020.xls",
    ),
    "population/ons_npp_2020/enppvsumpop20.xls": (
        "Office for National Statistics",
        "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationprojections",
        f"{GH}/Jamie0807/forecasting-uk-ageing-trends/0e0d5b10f672013279660b070f730f6115205009/data/raw/enppvsumpop20.xls",
    ),
    "population/small_area_msoa/msoa_population_estimates_2019_data.csv": (
        "Office for National Statistics (third-party extract)",
        "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/datasets/middlesuperoutputareamidyearpopulationestimates",
        f"{_C21}/Data/2011/MSOA%20Data/msoa_population_estimates_2019_data.csv",
    ),
    "population/small_area_msoa/msoa_age_by_single_year_2021_data.csv": (
        "Office for National Statistics (Census 2021, third-party extract)",
        "https://www.ons.gov.uk/datasets/TS007/editions/2021/versions/1",
        f"{_C21}/Data/2021/MSOA%20Data/msoa_age_by_single_year_2021_data.csv",
    ),
    **{
        f"population/census2021_ts007a_ts054_ts062/census2021-{t}-{g}.csv": (
            _TS_PUB,
            f"https://www.nomisweb.co.uk/datasets/c2021{t}",
            f"{_FLOURISH}/census2021-{t}/census2021-{t}-{g}.csv",
        )
        for t in ("ts007a", "ts054", "ts062")
        for g in ("ctry", "rgn", "utla", "ltla", "lsoa")
    },
    "population/census2021_ts007a_ts054_ts062/ts054-2021-2.txt": (
        _TS_PUB,
        "https://www.nomisweb.co.uk/datasets/c2021ts054",
        f"{_FLOURISH}/census2021-ts054/metadata/ts054-2021-2.txt",
    ),
    "population/census2021_ts007a_ts054_ts062/ts062-2021-1.txt": (
        _TS_PUB,
        "https://www.nomisweb.co.uk/datasets/c2021ts062",
        f"{_FLOURISH}/census2021-ts062/metadata/ts062-2021-1.txt",
    ),
}
DEFAULT = ("see the folder's PROVENANCE.md", "", "")
LICENCE = "Open Government Licence v3.0"

OFFICIAL_NOT_IN_MIRROR = [
    (
        "ascof/official/meas-from-asc-of-eng-2021-22-time-sers-anx-v2.xlsx",
        "ascof",
        "https://files.digital.nhs.uk/FE/612651/meas-from-asc-of-eng-2021-22-time-sers-anx-v2.xlsx",
        "NHS Digital",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-outcomes-framework-ascof",
    ),
    (
        "finance_activity/official/SALT and ASCFR Reference Tables (Suppressed) v2.xlsx",
        "finance_activity",
        "https://files.digital.nhs.uk/4F/11BD6D/SALT%20and%20ASCFR%20Reference%20Tables%20%28Suppressed%29%20v2.xlsx",
        "NHS Digital",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-activity-and-finance-report",
    ),
    (
        "finance_activity/official/ASCFR and SALT Reference Tables 2018-19.xlsx",
        "finance_activity",
        "https://files.digital.nhs.uk/C4/9FBB8A/ASCFR%20and%20SALT%20Reference%20Tables%202018-19.xlsx",
        "NHS Digital",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-activity-and-finance-report",
    ),
    (
        "finance_activity/official/ASCFR and SALT Reference Tables 2019-20.xlsx",
        "finance_activity",
        "https://files.digital.nhs.uk/BF/7AEF16/ASCFR%20and%20SALT%20Reference%20Tables%202019-20.xlsx",
        "NHS Digital",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-activity-and-finance-report",
    ),
    (
        "finance_activity/official/ASCFR and SALT Reference Tables 2020-21 v2 22-11-2022.xlsx",
        "finance_activity",
        "https://files.digital.nhs.uk/B5/81EEB4/ASCFR%20and%20SALT%20Reference%20Tables%202020-21%20v2%2022-11-2022.xlsx",
        "NHS Digital",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-activity-and-finance-report",
    ),
    (
        "finance_activity/official/ASCFR and SALT Data Tables 2022-23.xlsx",
        "finance_activity",
        "https://files.digital.nhs.uk/99/CE12BB/ASCFR%20and%20SALT%20Data%20Tables%202022-23.xlsx",
        "NHS Digital",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-activity-and-finance-report",
    ),
    (
        "fee_rates/official/market-sustainability-and-improvement-fund-fees-2024-to-2025.xlsx",
        "fee_rates",
        "https://assets.publishing.service.gov.uk/media/6703d7cc3b919067bb482d39/market-sustainability-and-improvement-fund-fees-2024-to-2025.xlsx",
        "DHSC",
        "https://www.gov.uk/government/publications/market-sustainability-and-improvement-fund-2024-to-2025-care-provider-fees",
    ),
    (
        "fee_rates/official/market-sustainability-and-improvement-fund-fees-2025-to-2026.xlsx",
        "fee_rates",
        "https://assets.publishing.service.gov.uk/media/68a3021cf49bec79d23d2940/market-sustainability-and-improvement-fund-fees-2025-to-2026.xlsx",
        "DHSC",
        "https://www.gov.uk/government/publications/market-sustainability-and-improvement-fund-2025-2026-care-provider-fees",
    ),
]


def _dtoc_official_urls(mirror: Path) -> dict[str, str]:
    text = (mirror / "delayed_transfers/la_type_b_days_2011_2019/PROVENANCE.md").read_text(
        encoding="utf-8"
    )
    urls = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*\d{4}-\d{2}\s*\|\s*(\S+\.xls)\s*\|.*\|\s*(https://\S+\.xls)\s*\|", line)
        if m:
            urls[m.group(1)] = m.group(2)
    return urls


def main(mirror: Path) -> None:
    dtoc = _dtoc_official_urls(mirror)
    rows = []
    with (mirror / "MANIFEST.csv").open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            path = rec["path"]
            if path.endswith("PROVENANCE.md"):
                continue
            folder = next((f for f in FOLDERS if path.startswith(f + "/")), None)
            publisher, page, prefix = FOLDERS.get(folder, DEFAULT) if folder else DEFAULT
            name = path[len(folder) + 1 :] if folder else path
            url = dtoc.get(name) or (prefix + name.replace(" ", "%20") if prefix else "")
            if path in FILES:
                publisher, page, url = FILES[path]
            rows.append(
                [path, rec["dataset"], rec["sha256"], rec["bytes"], url, page, publisher, LICENCE]
            )
    for key, dataset, url, publisher, page in OFFICIAL_NOT_IN_MIRROR:
        rows.append([key, dataset, "", "", url, page, publisher, LICENCE])
    out = Path(__file__).resolve().parents[1] / "src/asc_evidence/registry.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "dataset", "sha256", "bytes", "url", "page", "publisher", "licence"])
        w.writerows(sorted(rows))
    print(f"wrote {len(rows)} rows to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
