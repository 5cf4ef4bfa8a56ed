"""Regenerate src/asc_evidence/registry.csv from the mirror's MANIFEST.csv and PROVENANCE files.

Run by a maintainer when the mirror changes: ``python scripts/make_registry.py PATH/TO/MIRROR``.
Each row keeps two things apart: where the file is OFFICIALLY published, and where the copy in the
mirror came from (every mirror file was taken from a public GitHub repository snapshot; see each
folder's PROVENANCE.md). Columns:

key            path inside the mirror/cache
dataset        source family (ascof, delayed_transfers, fee_rates, finance_activity, geography, population)
sha256, bytes  of the mirror's copy (empty for official releases the mirror lacks)
publisher      the official publisher
licence        licence of the underlying official data
official_page  the official publication page
official_url   the official file's own download address, where known (else empty: see the page)
mirror_copy    what the mirror's copy is: ``official file`` (the published file, byte-for-byte as
               the PROVENANCE records it), ``official file, re-saved`` (official values, file re-saved
               or converted by a third party), ``third-party extract`` (filtered, reshaped or
               aggregated by a third party: not an official file), or ``not in mirror``
mirror_source  ``owner/repo@commit:path`` of the public repository the mirror's copy was taken from
download_url   where ``asc_evidence.fetch`` downloads a missing file: the official URL when the
               mirror's copy is the official file and its URL is known, else the repository snapshot
               (so that the sha256 still matches)
Official releases the mirror lacks are appended from ``OFFICIAL_NOT_IN_MIRROR`` with an empty sha256.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path
from urllib.parse import unquote

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


# What the mirror's copy is, per folder (from each PROVENANCE.md); FILE_COPY overrides per file.
OFFICIAL, RESAVED, EXTRACT = "official file", "official file, re-saved", "third-party extract"
FOLDER_COPY: dict[str, str] = {
    "ascof/ascof_repos_trend_2017_2024": EXTRACT,  # filtered stack of the open-data CSVs
    "ascof/ascof_timeseries_2015_2025": OFFICIAL,  # official 2024-25 time-series annex, renamed
    "ascof/nhsd_ascof_2020_21": RESAVED,  # official open-data CSV saved as xlsx
    "ascof/oflog_extract": EXTRACT,  # Oflog app's processed data
    "ascof/trafford_lginform_extract": EXTRACT,  # LG Inform pull for 17 areas
    "delayed_transfers/la_type_b_days_2011_2019": OFFICIAL,  # workbooks byte-for-byte, renamed
    "delayed_transfers/la_type_b_days_2011_2019/combined_extract": EXTRACT,
    "delayed_transfers/la_days_combined_2011_2020_jonnyp": EXTRACT,
    "delayed_transfers/population_18plus_ons_mye2_mid2014": RESAVED,  # per-sheet CSV exports
    "fee_rates/fcoc_hf_council_web_scraping": EXTRACT,  # tabulizer output from council PDFs
    "finance_activity/ascfr_2017_18_gce_by_la_samrickman": EXTRACT,
    "finance_activity/ascfr_salt_data_tables_2021_22": OFFICIAL,  # "Official file, unmodified"
    "finance_activity/bengoodair_adults_social_care_data/Final_data": EXTRACT,
    "finance_activity/bengoodair_adults_social_care_data": EXTRACT,  # meta_data.xlsx
    "finance_activity/cqc_care_directory_la_aggregates_feb2021": EXTRACT,
    "geography/mhclg_iod2019": OFFICIAL,
    "geography/ons_ctyua_boundaries_buc": OFFICIAL,
    "geography/ons_lad_region_lookup_2019": OFFICIAL,
    "geography/ons_ltla_utla_lookup_2022": OFFICIAL,
    "geography/ons_msoa11_msoa21_lad22_lookup": OFFICIAL,  # portal CSV, renamed
    "geography/ons_msoa2021_boundaries_bsc": OFFICIAL,
    "geography/ons_sam_lsoa_dec2021": OFFICIAL,
    "population/census2021_ts007_age_single_year": OFFICIAL,  # members of the Nomis bulk zip
    "population/census2021_ts007a_ts054_ts062": OFFICIAL,
    "population/ons_mye_uk_single_year": OFFICIAL,
    "population/ons_npp_2018": RESAVED,  # ONS .xml re-saved as .xls
    "population/ons_npp_2020": OFFICIAL,
    "population/ons_snpp_2016_extract_60plus": EXTRACT,
    "population/ons_snpp_2018": EXTRACT,
    "population/small_area_msoa": EXTRACT,
}
FILE_COPY: dict[str, str] = {
    # the repository author's re-save (values checked equal to two other copies)
    "geography/mhclg_iod2019/File_10_-_IoD2019_Local_Authority_District_Summaries__lower-tier__.xlsx": RESAVED,
}
# Mirror folders whose copies do not come from the folder's download prefix (repo, commit, path prefix).
ORIGIN: dict[str, tuple[str, str, str]] = {
    "finance_activity/ascfr_salt_data_tables_2021_22": (
        "PhD-SarahLiley/GEOG5995_FinalProject",
        "5d22c7772eef87a46a0aad4f146739ea1f570c5b",
        "",
    ),
    "delayed_transfers/la_type_b_days_2011_2019/combined_extract": (
        "psychty/DTOC",
        "a789281edfacc62c8b9d4cc66d2969685b568151",
        "",
    ),
    "ascof/ascof_timeseries_2015_2025": (
        "Susai23/Lincolnshire-Adult-Social-Care-pipeline",
        "1b9479ebe8e2a64c9818216d2f483b25c354766b",
        "Raw data/",
    ),
}
RENAMED = {  # mirror name -> name in the source repository
    "ascof/ascof_timeseries_2015_2025/ascof_timeseries_2015-16_to_2024-25.ods": "ascof_2024_25.ods",
}
EXTRA_FOLDERS: dict[str, tuple[str, str]] = {  # folders without a download prefix: publisher, page
    "ascof/ascof_timeseries_2015_2025": (
        "NHS England (DHSC from 2024-25)",
        "https://digital.nhs.uk/data-and-information/publications/statistical/adult-social-care-outcomes-framework-ascof",
    ),
}


def _gh_origin(url: str) -> tuple[str, str, str] | None:
    """(owner/repo, commit, path) of a raw.githubusercontent.com snapshot URL."""
    if not url.startswith(GH + "/"):
        return None
    owner, repo, commit, *path = url[len(GH) + 1 :].split("/")
    return f"{owner}/{repo}", commit, unquote("/".join(path))


def _longest(prefixes, path: str) -> str | None:
    hits = [f for f in prefixes if path.startswith(f + "/")]
    return max(hits, key=len) if hits else None


def main(mirror: Path) -> None:
    dtoc = _dtoc_official_urls(mirror)
    rows = []
    with (mirror / "MANIFEST.csv").open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            path = rec["path"]
            if path.endswith("PROVENANCE.md"):
                continue
            folder = _longest(FOLDERS, path)
            publisher, page, prefix = FOLDERS.get(folder, DEFAULT) if folder else DEFAULT
            name = path[len(folder) + 1 :] if folder else path
            url = prefix + name.replace(" ", "%20") if prefix else ""
            if path in FILES:
                publisher, page, url = FILES[path]
            extra = _longest(EXTRA_FOLDERS, path)
            if extra and not folder:
                publisher, page = EXTRA_FOLDERS[extra]
            official_url = dtoc.get(name, "")
            origin_folder = _longest(ORIGIN, path)
            if origin_folder:
                repo, commit, sub = ORIGIN[origin_folder]
                rel = path[len(origin_folder) + 1 :]
                source = f"{repo}@{commit}:{sub}{RENAMED.get(path, rel)}"
                if url and not url.startswith(GH):
                    official_url = url  # the folder prefix is the official address
                url = f"{GH}/{repo}/{commit}/{sub}{RENAMED.get(path, rel)}".replace(" ", "%20")
            else:
                repo, commit, repo_path = _gh_origin(url) or ("", "", "")
                source = f"{repo}@{commit}:{repo_path}" if repo else ""
            copy_folder = _longest(FOLDER_COPY, path)
            copy = FILE_COPY.get(path) or (FOLDER_COPY[copy_folder] if copy_folder else "")
            if path.startswith("finance_activity/bengoodair_adults_social_care_data/Raw_data/"):
                # README: raw files "not edited ... other than downloaded and saved in csv format"
                copy = OFFICIAL if path.endswith(".xls") else RESAVED
            if not copy or not source:
                msg = f"no provenance recorded for {path}: add it to FOLDER_COPY/ORIGIN"
                raise SystemExit(msg)
            download = official_url if (copy == OFFICIAL and official_url) else url
            rows.append(
                [
                    path,
                    rec["dataset"],
                    rec["sha256"],
                    rec["bytes"],
                    publisher,
                    LICENCE,
                    page,
                    official_url,
                    copy,
                    source,
                    download,
                ]
            )
    for key, dataset, url, publisher, page in OFFICIAL_NOT_IN_MIRROR:
        rows.append([key, dataset, "", "", publisher, LICENCE, page, url, "not in mirror", "", url])
    out = Path(__file__).resolve().parents[1] / "src/asc_evidence/registry.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(sorted(rows))
    print(f"wrote {len(rows)} rows to {out}")


COLUMNS = [
    "key",
    "dataset",
    "sha256",
    "bytes",
    "publisher",
    "licence",
    "official_page",
    "official_url",
    "mirror_copy",
    "mirror_source",
    "download_url",
]


if __name__ == "__main__":
    main(Path(sys.argv[1]))
