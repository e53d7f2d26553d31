<?xml version="1.0" encoding="UTF-8"?>
<!--
  sdtmify's stylesheet for Define-XML 2.1 (with Analysis Results Metadata 1.0): renders a define.xml
  as one HTML page in a browser. Written by sdtmify from the structure of the Define-XML 2.1
  specification (ODM 1.3.2 MetaDataVersion with the def: and arm: extensions); XSLT 1.0, no scripts,
  nothing loaded from the network. Sections: standards, datasets, variables (with value-level
  metadata), analysis results, codelists, methods, comments, documents.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:odm="http://www.cdisc.org/ns/odm/v1.3"
    xmlns:def="http://www.cdisc.org/ns/def/v2.1"
    xmlns:arm="http://www.cdisc.org/ns/arm/v1.0"
    xmlns:xlink="http://www.w3.org/1999/xlink"
    exclude-result-prefixes="odm def arm xlink">

  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:variable name="mdv" select="/odm:ODM/odm:Study/odm:MetaDataVersion"/>
  <xsl:key name="item" match="odm:ItemDef" use="@OID"/>
  <xsl:key name="group" match="odm:ItemGroupDef" use="@OID"/>
  <xsl:key name="codelist" match="odm:CodeList" use="@OID"/>
  <xsl:key name="method" match="odm:MethodDef" use="@OID"/>
  <xsl:key name="comment" match="def:CommentDef" use="@OID"/>
  <xsl:key name="valuelist" match="def:ValueListDef" use="@OID"/>
  <xsl:key name="where" match="def:WhereClauseDef" use="@OID"/>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta charset="UTF-8"/>
        <title><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/> - <xsl:value-of select="$mdv/@Name"/></title>
        <style>
          body { font-family: Arial, Helvetica, sans-serif; font-size: 13px; margin: 1em 2em; color: #222; }
          h1 { font-size: 20px; } h2 { font-size: 17px; border-bottom: 2px solid #36c; margin-top: 2em; }
          h3 { font-size: 15px; margin-top: 1.5em; }
          table { border-collapse: collapse; margin: 0.5em 0 1em; width: 100%; }
          th, td { border: 1px solid #bbb; padding: 3px 6px; vertical-align: top; text-align: left; }
          th { background: #e8eef8; } tr:nth-child(even) td { background: #f7f9fc; }
          .toc { columns: 3; } .note { color: #555; } code, pre { font-family: Consolas, monospace; white-space: pre-wrap; }
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/>: <xsl:value-of select="$mdv/@Name"/></h1>
        <p><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyDescription"/></p>
        <p class="note">Protocol: <xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:ProtocolName"/>;
          Define-XML <xsl:value-of select="$mdv/@def:DefineVersion"/>; created <xsl:value-of select="/odm:ODM/@CreationDateTime"/>;
          originator <xsl:value-of select="/odm:ODM/@Originator"/>.</p>
        <nav>
          <h2 id="contents">Contents</h2>
          <ul class="toc">
            <li><a href="#standards">Standards</a></li>
            <li><a href="#datasets">Datasets</a></li>
            <xsl:for-each select="$mdv/odm:ItemGroupDef">
              <li><a href="#{@OID}"><xsl:value-of select="@Name"/></a></li>
            </xsl:for-each>
            <xsl:if test="$mdv/arm:AnalysisResultDisplays"><li><a href="#analysis-results">Analysis results</a></li></xsl:if>
            <li><a href="#codelists">Codelists</a></li>
            <li><a href="#methods">Methods</a></li>
            <li><a href="#comments">Comments</a></li>
          </ul>
        </nav>
        <xsl:call-template name="standards"/>
        <xsl:call-template name="datasets"/>
        <xsl:apply-templates select="$mdv/odm:ItemGroupDef"/>
        <xsl:apply-templates select="$mdv/arm:AnalysisResultDisplays"/>
        <xsl:call-template name="codelists"/>
        <xsl:call-template name="methods"/>
        <xsl:call-template name="comments"/>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="standards">
    <h2 id="standards">Standards</h2>
    <table>
      <tr><th>Name</th><th>Type</th><th>Publishing set</th><th>Version</th><th>Status</th></tr>
      <xsl:for-each select="$mdv/def:Standards/def:Standard">
        <tr id="{@OID}"><td><xsl:value-of select="@Name"/></td><td><xsl:value-of select="@Type"/></td>
          <td><xsl:value-of select="@PublishingSet"/></td><td><xsl:value-of select="@Version"/></td><td><xsl:value-of select="@Status"/></td></tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template name="datasets">
    <h2 id="datasets">Datasets</h2>
    <table>
      <tr><th>Dataset</th><th>Description</th><th>Class</th><th>Structure</th><th>Keys</th><th>Location</th><th>Comment</th></tr>
      <xsl:for-each select="$mdv/odm:ItemGroupDef">
        <tr>
          <td><a href="#{@OID}"><xsl:value-of select="@Name"/></a></td>
          <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td>
          <td><xsl:value-of select="def:Class/@Name"/></td>
          <td><xsl:value-of select="@def:Structure"/></td>
          <td><xsl:call-template name="keys"/></td>
          <td><xsl:value-of select="def:leaf/@xlink:href"/></td>
          <td><xsl:apply-templates select="key('comment', @def:CommentOID)" mode="inline"/></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template name="keys">
    <xsl:for-each select="odm:ItemRef[@KeySequence]">
      <xsl:sort select="@KeySequence" data-type="number"/>
      <xsl:value-of select="key('item', @ItemOID)/@Name"/>
      <xsl:if test="position() != last()">, </xsl:if>
    </xsl:for-each>
  </xsl:template>

  <xsl:template match="odm:ItemGroupDef">
    <h3 id="{@OID}"><xsl:value-of select="@Name"/> (<xsl:value-of select="odm:Description/odm:TranslatedText"/>)</h3>
    <table>
      <tr><th>Variable</th><th>Label</th><th>Type</th><th>Length</th><th>Display format</th><th>Controlled terms or format</th><th>Origin</th><th>Derivation or comment</th></tr>
      <xsl:for-each select="odm:ItemRef">
        <xsl:sort select="@OrderNumber" data-type="number"/>
        <xsl:variable name="it" select="key('item', @ItemOID)"/>
        <tr id="{$it/@OID}">
          <td><xsl:value-of select="$it/@Name"/>
            <xsl:if test="@Mandatory = 'Yes'"><span class="note" title="mandatory"> *</span></xsl:if></td>
          <td><xsl:value-of select="$it/odm:Description/odm:TranslatedText"/></td>
          <td><xsl:value-of select="$it/@DataType"/></td>
          <td><xsl:value-of select="$it/@Length"/></td>
          <td><xsl:value-of select="$it/@def:DisplayFormat"/></td>
          <td><xsl:if test="$it/odm:CodeListRef"><a href="#{$it/odm:CodeListRef/@CodeListOID}"><xsl:value-of select="key('codelist', $it/odm:CodeListRef/@CodeListOID)/@Name"/></a></xsl:if>
            <xsl:if test="$it/def:ValueListRef"> <a href="#{$it/def:ValueListRef/@ValueListOID}">value-level metadata</a></xsl:if></td>
          <td><xsl:apply-templates select="$it/def:Origin"/></td>
          <td><xsl:if test="@MethodOID"><a href="#{@MethodOID}"><xsl:value-of select="key('method', @MethodOID)/@Name"/></a>: <xsl:value-of select="key('method', @MethodOID)/odm:Description/odm:TranslatedText"/></xsl:if>
            <xsl:apply-templates select="key('comment', $it/@def:CommentOID)" mode="inline"/></td>
        </tr>
      </xsl:for-each>
    </table>
    <xsl:for-each select="odm:ItemRef">
      <xsl:variable name="it" select="key('item', @ItemOID)"/>
      <xsl:apply-templates select="key('valuelist', $it/def:ValueListRef/@ValueListOID)"/>
    </xsl:for-each>
  </xsl:template>

  <xsl:template match="def:ValueListDef">
    <h4 id="{@OID}">Value-level metadata <xsl:value-of select="@OID"/></h4>
    <table>
      <tr><th>Where</th><th>Variable</th><th>Label</th><th>Type</th><th>Length</th><th>Controlled terms</th><th>Origin</th><th>Method</th></tr>
      <xsl:for-each select="odm:ItemRef">
        <xsl:variable name="it" select="key('item', @ItemOID)"/>
        <tr id="{$it/@OID}">
          <td><xsl:for-each select="key('where', def:WhereClauseRef/@WhereClauseOID)/odm:RangeCheck">
            <xsl:value-of select="key('item', @def:ItemOID)/@Name"/><xsl:text> </xsl:text><xsl:value-of select="@Comparator"/><xsl:text> </xsl:text>
            <xsl:for-each select="odm:CheckValue"><xsl:value-of select="."/><xsl:if test="position() != last()">, </xsl:if></xsl:for-each>
            <xsl:if test="position() != last()"> and </xsl:if></xsl:for-each></td>
          <td><xsl:value-of select="$it/@Name"/></td>
          <td><xsl:value-of select="$it/odm:Description/odm:TranslatedText"/></td>
          <td><xsl:value-of select="$it/@DataType"/></td>
          <td><xsl:value-of select="$it/@Length"/></td>
          <td><xsl:if test="$it/odm:CodeListRef"><a href="#{$it/odm:CodeListRef/@CodeListOID}"><xsl:value-of select="key('codelist', $it/odm:CodeListRef/@CodeListOID)/@Name"/></a></xsl:if></td>
          <td><xsl:apply-templates select="$it/def:Origin"/></td>
          <td><xsl:if test="@MethodOID"><a href="#{@MethodOID}"><xsl:value-of select="key('method', @MethodOID)/@Name"/></a></xsl:if></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="def:Origin">
    <xsl:value-of select="@Type"/>
    <xsl:if test="@Source"> (<xsl:value-of select="@Source"/>)</xsl:if>
    <xsl:if test="odm:Description"> <xsl:value-of select="odm:Description/odm:TranslatedText"/></xsl:if>
  </xsl:template>

  <xsl:template match="def:CommentDef" mode="inline">
    <span class="note"><xsl:value-of select="odm:Description/odm:TranslatedText"/></span>
  </xsl:template>

  <xsl:template match="arm:AnalysisResultDisplays">
    <h2 id="analysis-results">Analysis results</h2>
    <xsl:for-each select="arm:ResultDisplay">
      <h3 id="{@OID}"><xsl:value-of select="@Name"/></h3>
      <p><xsl:value-of select="odm:Description/odm:TranslatedText"/></p>
      <xsl:for-each select="arm:AnalysisResult">
        <table id="{@OID}">
          <tr><th>Analysis result</th><td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td></tr>
          <tr><th>Parameter</th><td><xsl:value-of select="key('item', @ParameterOID)/@Name"/></td></tr>
          <tr><th>Reason / purpose</th><td><xsl:value-of select="@AnalysisReason"/> / <xsl:value-of select="@AnalysisPurpose"/></td></tr>
          <tr><th>Datasets</th><td><xsl:for-each select="arm:AnalysisDatasets/arm:AnalysisDataset">
            <a href="#{@ItemGroupOID}"><xsl:value-of select="key('group', @ItemGroupOID)/@Name"/></a>
            <xsl:for-each select="def:WhereClauseRef"> where <xsl:for-each select="key('where', @WhereClauseOID)/odm:RangeCheck">
              <xsl:value-of select="key('item', @def:ItemOID)/@Name"/><xsl:text> </xsl:text><xsl:value-of select="@Comparator"/><xsl:text> </xsl:text>
              <xsl:for-each select="odm:CheckValue"><xsl:value-of select="."/><xsl:if test="position() != last()">, </xsl:if></xsl:for-each>
              <xsl:if test="position() != last()"> and </xsl:if></xsl:for-each></xsl:for-each>:
            <xsl:for-each select="arm:AnalysisVariable"><xsl:value-of select="key('item', @ItemOID)/@Name"/><xsl:if test="position() != last()">, </xsl:if></xsl:for-each>
            <br/></xsl:for-each></td></tr>
          <tr><th>Documentation</th><td><xsl:value-of select="arm:Documentation/odm:Description/odm:TranslatedText"/></td></tr>
          <tr><th>Programming code</th><td><span class="note"><xsl:value-of select="arm:ProgrammingCode/@Context"/></span><pre><xsl:value-of select="arm:ProgrammingCode/arm:Code"/></pre></td></tr>
        </table>
      </xsl:for-each>
    </xsl:for-each>
  </xsl:template>

  <xsl:template name="codelists">
    <h2 id="codelists">Codelists</h2>
    <xsl:for-each select="$mdv/odm:CodeList">
      <h3 id="{@OID}"><xsl:value-of select="@Name"/>
        <xsl:if test="odm:Alias[@Context='nci:ExtCodeID']"> (<xsl:value-of select="odm:Alias[@Context='nci:ExtCodeID']/@Name"/>)</xsl:if></h3>
      <xsl:choose>
        <xsl:when test="odm:ExternalCodeList">
          <p>External dictionary <xsl:value-of select="odm:ExternalCodeList/@Dictionary"/>, version <xsl:value-of select="odm:ExternalCodeList/@Version"/></p>
        </xsl:when>
        <xsl:otherwise>
          <table>
            <tr><th>Coded value</th><th>Decode</th><th>NCI code</th></tr>
            <xsl:for-each select="odm:CodeListItem | odm:EnumeratedItem">
              <tr><td><xsl:value-of select="@CodedValue"/><xsl:if test="@def:ExtendedValue = 'Yes'"> (sponsor extension)</xsl:if></td>
                <td><xsl:value-of select="odm:Decode/odm:TranslatedText"/></td>
                <td><xsl:value-of select="odm:Alias[@Context='nci:ExtCodeID']/@Name"/></td></tr>
            </xsl:for-each>
          </table>
        </xsl:otherwise>
      </xsl:choose>
    </xsl:for-each>
  </xsl:template>

  <xsl:template name="methods">
    <h2 id="methods">Methods</h2>
    <table>
      <tr><th>Method</th><th>Type</th><th>Description</th></tr>
      <xsl:for-each select="$mdv/odm:MethodDef">
        <tr id="{@OID}"><td><xsl:value-of select="@Name"/></td><td><xsl:value-of select="@Type"/></td>
          <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td></tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template name="comments">
    <h2 id="comments">Comments</h2>
    <table>
      <tr><th>Comment</th><th>Text</th></tr>
      <xsl:for-each select="$mdv/def:CommentDef">
        <tr id="{@OID}"><td><xsl:value-of select="@OID"/></td><td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td></tr>
      </xsl:for-each>
    </table>
  </xsl:template>
</xsl:stylesheet>
